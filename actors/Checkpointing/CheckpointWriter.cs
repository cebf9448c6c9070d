using GppfActors.Model.Checkpoints;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Writes a <see cref="CheckpointPayload"/> as a checkpoint directory so that a crash at any moment
/// leaves either no checkpoint of that step or a complete one; no Akka, so it runs on a background task.
/// </summary>
/// <remarks>
/// The protocol: <c>step-N.tmp/</c> -> tensor files and <c>state.json</c>, each fsynced -> manifest
/// with every file's hash, fsynced -> rename to <c>step-N</c> -> fsync the root. The checkpoint is
/// not committed by any of this: only the journal's <c>CheckpointCommitted</c> event commits it, so a
/// renamed but unjournaled directory is garbage that startup hygiene removes.
/// </remarks>
public sealed class CheckpointWriter
{
    private readonly ICrashInjector _crashInjector;
    private readonly TimeProvider _time;

    /// <summary>A writer that calls <paramref name="crashInjector"/> (default: none) at each crash point.</summary>
    public CheckpointWriter(ICrashInjector? crashInjector = null, TimeProvider? time = null)
    {
        _crashInjector = crashInjector ?? NoCrashInjector.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Writes <paramref name="payload"/> to <c>root/step-N</c> and describes the result for the journal.</summary>
    /// <exception cref="IOException">
    /// The write failed, or <c>step-N</c> already exists (a checkpoint directory is never overwritten:
    /// it may be the committed one). What this call created is removed, best effort.
    /// </exception>
    public CheckpointRecord Write(string root, CheckpointPayload payload)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(payload);
        root = Path.GetFullPath(root);
        Directory.CreateDirectory(root);
        var step = payload.Step;
        var final = Path.Combine(root, CheckpointLayout.DirectoryName(step));
        var temporary = Path.Combine(root, CheckpointLayout.TemporaryDirectoryName(step));
        if (Directory.Exists(final))
        {
            throw new IOException($"Checkpoint directory '{final}' already exists; it is never overwritten. If it is not committed, startup hygiene removes it.");
        }
        // A .tmp of this step is left from a write that crashed: it was never renamed, so nothing
        // refers to it, and starting from an empty directory keeps stray files out of the manifest.
        if (Directory.Exists(temporary))
        {
            Directory.Delete(temporary, recursive: true);
        }

        var renamed = false;
        try
        {
            Directory.CreateDirectory(temporary);
            // SafeTensorsFile.Save fsyncs each file and the directory entry it renames into place.
            SafeTensorsFile.Save(Path.Combine(temporary, CheckpointLayout.ModelFile), payload.ModelState);
            SafeTensorsFile.Save(Path.Combine(temporary, CheckpointLayout.OptimizerFile), payload.OptimizerState);
            WriteDurably(Path.Combine(temporary, CheckpointLayout.StateFile), CheckpointStateFile.Encode(payload), step, splitForCrashTest: true);
            _crashInjector.Hit(CrashPoints.AfterFiles, step);

            var entries = CheckpointLayout.RequiredFiles.Select(name => Describe(temporary, name)).ToList();
            var manifestBytes = new CheckpointManifest(CheckpointManifest.CurrentFormat, step, payload.Epoch, entries).ToUtf8Json();
            WriteDurably(Path.Combine(temporary, CheckpointLayout.ManifestFile), manifestBytes, step, splitForCrashTest: false);
            // state.json and manifest.json were written in place, not renamed: their directory entries
            // are durable only once the directory itself is synced.
            DurableFile.SyncDirectory(temporary);
            _crashInjector.Hit(CrashPoints.AfterManifest, step);

            // rename(2) of a directory is atomic: readers see step-N.tmp or step-N, never a mix.
            Directory.Move(temporary, final);
            renamed = true;
            DurableFile.SyncDirectory(root);
            _crashInjector.Hit(CrashPoints.AfterRename, step);

            return new CheckpointRecord(
                step,
                payload.Epoch,
                final,
                Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(manifestBytes)),
                entries.Sum(entry => entry.Bytes) + manifestBytes.Length,
                _time.GetUtcNow().UtcDateTime);
        }
        catch
        {
            // Neither directory was ever reported to anyone, so removing it cannot lose a commit; it
            // frees the disk (a failed write is often a full disk) and lets a retry of this step work.
            TryDelete(renamed ? final : temporary);
            throw;
        }
    }

    private void WriteDurably(string path, byte[] bytes, long step, bool splitForCrashTest)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        var half = splitForCrashTest ? bytes.Length / 2 : bytes.Length;
        stream.Write(bytes, 0, half);
        if (splitForCrashTest)
        {
            // Flushed to disk so a crash here really leaves a half-written file behind.
            stream.Flush(flushToDisk: true);
            _crashInjector.Hit(CrashPoints.MidFileWrite, step);
        }
        stream.Write(bytes, half, bytes.Length - half);
        stream.Flush(flushToDisk: true);
    }

    private static CheckpointManifestEntry Describe(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        return new CheckpointManifestEntry(name, new FileInfo(path).Length, StateDicts.Sha256Hex(path));
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original failure is the one the caller needs, and startup hygiene
            // removes whatever is left.
        }
    }
}
