using System.Text.Json;
using GppfActors.Model.Checkpoints;
using static TorchSharp.torch;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Loads a checkpoint directory back into a <see cref="CheckpointPayload"/>, trusting nothing on disk
/// until every file's size and SHA-256 match the manifest.
/// </summary>
public static class CheckpointReader
{
    /// <summary>Verifies <paramref name="directory"/> against its manifest, then loads it; the caller disposes the payload.</summary>
    /// <exception cref="CorruptCheckpointException">
    /// The directory or the manifest is missing, a listed file is missing, has the wrong size or hash,
    /// or a file does not parse; the message names the directory and the file.
    /// </exception>
    public static CheckpointPayload Load(string directory) => Load(directory, expectedManifestSha256: null);

    /// <summary>
    /// Like <see cref="Load(string)"/>, and also requires the manifest's SHA-256 to be the one the
    /// journal recorded, so a directory replaced after its commit is refused too.
    /// </summary>
    public static CheckpointPayload Load(string directory, string? expectedManifestSha256)
    {
        directory = Path.GetFullPath(directory ?? throw new ArgumentNullException(nameof(directory)));
        var state = VerifiedState(directory, expectedManifestSha256);
        var model = LoadTensors(directory, CheckpointLayout.ModelFile);
        try
        {
            var optimizer = LoadTensors(directory, CheckpointLayout.OptimizerFile);
            try
            {
                return new CheckpointPayload(state.Step, state.Epoch, model, optimizer, state.ScheduleStateJson, state.SamplerStateJson, state.ConfigJson, state.Metadata);
            }
            catch
            {
                DisposeAll(optimizer);
                throw;
            }
        }
        catch
        {
            DisposeAll(model);
            throw;
        }
    }

    /// <summary>
    /// Verifies <paramref name="directory"/> against its manifest as <see cref="Load(string)"/> does and
    /// describes it (step, epoch, the job's resolved configuration) without reading a tensor: for
    /// readers that load only the model file themselves (inspection, evaluation, export, a
    /// fine-tuning start), which then need neither the optimizer state in memory nor a second read.
    /// </summary>
    /// <exception cref="CorruptCheckpointException">As <see cref="Load(string)"/>.</exception>
    public static CheckpointDescription Describe(string directory)
    {
        directory = Path.GetFullPath(directory ?? throw new ArgumentNullException(nameof(directory)));
        var state = VerifiedState(directory, expectedManifestSha256: null);
        return new CheckpointDescription(directory, state.Step, state.Epoch, state.ConfigJson);
    }

    // Every file's size and SHA-256 against the manifest, then the non-tensor state.
    private static CheckpointStateFile.Content VerifiedState(string directory, string? expectedManifestSha256)
    {
        if (!Directory.Exists(directory))
        {
            throw new CorruptCheckpointException(directory, ".", "the directory does not exist");
        }
        var manifest = ReadManifest(directory, expectedManifestSha256);
        foreach (var entry in manifest.Files)
        {
            Verify(directory, entry);
        }
        return ReadState(directory, manifest);
    }

    private static CheckpointManifest ReadManifest(string directory, string? expectedSha256)
    {
        var path = Path.Combine(directory, CheckpointLayout.ManifestFile);
        if (!File.Exists(path))
        {
            throw new CorruptCheckpointException(directory, CheckpointLayout.ManifestFile, "missing manifest (the write never finished, or the file was removed)");
        }
        var bytes = File.ReadAllBytes(path);
        if (expectedSha256 is not null)
        {
            var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new CorruptCheckpointException(directory, CheckpointLayout.ManifestFile, $"SHA-256 is {actual} but the journal recorded {expectedSha256}");
            }
        }
        CheckpointManifest manifest;
        try
        {
            manifest = CheckpointManifest.Parse(bytes);
        }
        catch (JsonException exception)
        {
            throw new CorruptCheckpointException(directory, CheckpointLayout.ManifestFile, $"unparsable manifest: {exception.Message}", exception);
        }
        if (manifest.Format != CheckpointManifest.CurrentFormat)
        {
            throw new CorruptCheckpointException(directory, CheckpointLayout.ManifestFile, $"manifest format {manifest.Format} is not the supported format {CheckpointManifest.CurrentFormat}");
        }
        foreach (var entry in manifest.Files)
        {
            // A manifest names files inside its own directory only; anything with a path in it would
            // make the reader hash (and trust) a file elsewhere.
            if (entry.Name.Length == 0 || entry.Name != Path.GetFileName(entry.Name) || entry.Name is "." or "..")
            {
                throw new CorruptCheckpointException(directory, CheckpointLayout.ManifestFile, $"manifest lists '{entry.Name}', which is not a plain file name");
            }
        }
        foreach (var required in CheckpointLayout.RequiredFiles)
        {
            if (!manifest.Files.Any(entry => entry.Name == required))
            {
                throw new CorruptCheckpointException(directory, CheckpointLayout.ManifestFile, $"manifest does not list {required}");
            }
        }
        return manifest;
    }

    private static void Verify(string directory, CheckpointManifestEntry entry)
    {
        var path = Path.Combine(directory, entry.Name);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new CorruptCheckpointException(directory, entry.Name, "missing file (listed in the manifest)");
        }
        // Size first: cheaper than hashing, and "truncated" says more than "hash mismatch".
        if (info.Length != entry.Bytes)
        {
            throw new CorruptCheckpointException(directory, entry.Name, $"size is {info.Length} bytes but the manifest says {entry.Bytes} (truncated or overwritten)");
        }
        var sha256 = StateDicts.Sha256Hex(path);
        if (!string.Equals(sha256, entry.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new CorruptCheckpointException(directory, entry.Name, $"SHA-256 is {sha256} but the manifest says {entry.Sha256} (hash mismatch)");
        }
    }

    private static CheckpointStateFile.Content ReadState(string directory, CheckpointManifest manifest)
    {
        CheckpointStateFile.Content state;
        try
        {
            state = CheckpointStateFile.Decode(File.ReadAllBytes(Path.Combine(directory, CheckpointLayout.StateFile)));
        }
        catch (InvalidDataException exception)
        {
            throw new CorruptCheckpointException(directory, CheckpointLayout.StateFile, $"unparsable state.json: {exception.Message}", exception);
        }
        if (state.Step != manifest.Step || state.Epoch != manifest.Epoch)
        {
            throw new CorruptCheckpointException(directory, CheckpointLayout.StateFile,
                $"step {state.Step} / epoch {state.Epoch} disagree with the manifest's step {manifest.Step} / epoch {manifest.Epoch}");
        }
        return state;
    }

    private static Dictionary<string, Tensor> LoadTensors(string directory, string name)
    {
        try
        {
            return SafeTensorsFile.Load(Path.Combine(directory, name));
        }
        catch (InvalidDataException exception)
        {
            // The hash matched, so the file is what the writer wrote; a parse failure here means the
            // writer itself wrote a bad file, which is still a checkpoint nobody can resume from.
            throw new CorruptCheckpointException(directory, name, $"not a readable safetensors file: {exception.Message}", exception);
        }
    }

    private static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (var tensor in tensors.Values)
        {
            tensor.Dispose();
        }
    }
}

/// <summary>A verified checkpoint's directory (absolute), step, epoch and the resolved job configuration it was written with.</summary>
public sealed record CheckpointDescription(string Directory, long Step, long Epoch, string ConfigJson);
