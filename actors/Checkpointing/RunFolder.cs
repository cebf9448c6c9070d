using System.Text.Json;
using System.Text.Json.Nodes;
using GppfActors.Model.Checkpoints;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// A run folder (checkpoint directories, the journal, event files) owned by one job and held by one
/// process: an exclusive OS lock for the life of the process, and an identity file written on first
/// use that names the job and its model/task layout. Created by the node that runs the coordinator;
/// disposing it releases the lock.
/// </summary>
/// <remarks>
/// Without the lock a second process on the same folder would share the SQLite journal and its
/// start-up hygiene could remove the first process's renamed but not yet journaled checkpoint.
/// Without the identity a second job pointed at the same folder would treat the first job's
/// checkpoints as leftovers. The lock is <c>flock</c> through .NET's <see cref="FileShare.None"/>
/// (advisory, released by the kernel when the process dies, even by SIGKILL); the holder's pid is
/// kept in a separate file because the locked file cannot be read by anyone else.
/// </remarks>
public sealed class RunFolder : IDisposable
{
    /// <summary>The identity file: job name and layout, written once.</summary>
    public const string IdentityFile = "run.json";

    /// <summary>The file held locked while a process uses the folder.</summary>
    public const string LockFile = "run.lock";

    /// <summary>The pid of the process holding the lock, for the refusal message.</summary>
    public const string OwnerFile = "run.owner";

    private const int CurrentFormat = 1;

    private readonly FileStream? _lock;

    private RunFolder(string path, FileStream? heldLock, RunIdentity identity, bool created)
    {
        Path = path;
        _lock = heldLock;
        Identity = identity;
        Created = created;
    }

    /// <summary>The folder's absolute path.</summary>
    public string Path { get; }

    /// <summary>The identity the folder holds (written by this call when <see cref="Created"/>).</summary>
    public RunIdentity Identity { get; }

    /// <summary>True when this process wrote the identity (the folder had none).</summary>
    public bool Created { get; }

    /// <summary>
    /// Creates the folder if needed, takes its lock and checks (or writes) its identity. The folder
    /// belongs to <paramref name="identity"/>'s job; another job is refused, and so is a different
    /// layout of the same job, since its checkpoints could not be loaded into this model.
    /// </summary>
    /// <exception cref="RunFolderException">Locked by another process, owned by another job, a different layout, or an unreadable identity file; the message names the folder and both sides.</exception>
    public static RunFolder Open(string path, RunIdentity identity) => Open(path, identity, TimeSpan.Zero);

    /// <summary>
    /// As <see cref="Open(string, RunIdentity)"/>, but while another process holds the folder, tries
    /// again for up to <paramref name="waitForLock"/>: a coordinator taking over waits for the
    /// superseded one's process to end (the kernel releases its lock when it does, even on SIGKILL).
    /// With <paramref name="withoutLockAfterWait"/>, a folder still held after the wait is opened
    /// without the lock (<see cref="HoldsLock"/> false) instead of refused: the holder is then a
    /// superseded coordinator that is frozen or cut off, which the cluster has downed and the
    /// journal no longer lets commit.
    /// </summary>
    public static RunFolder Open(string path, RunIdentity identity, TimeSpan waitForLock, bool withoutLockAfterWait = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(identity);
        path = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFolderException($"checkpoint.dir '{path}': cannot create the run folder: {e.Message}");
        }
        FileStream? heldLock;
        try
        {
            heldLock = TakeLock(path, waitForLock);
        }
        catch (RunFolderInUseException) when (withoutLockAfterWait)
        {
            heldLock = null;
        }
        try
        {
            var identityPath = System.IO.Path.Combine(path, IdentityFile);
            if (!File.Exists(identityPath))
            {
                var hasCheckpoints = Directory.EnumerateDirectories(path).Any(d => CheckpointLayout.TryParse(System.IO.Path.GetFileName(d), out _, out _));
                if (hasCheckpoints)
                {
                    // A folder from before run identities: adopting it silently could hand another
                    // job's checkpoints to this one.
                    throw new RunFolderException(
                        $"checkpoint.dir '{path}' holds checkpoints but no {IdentityFile}; it was not created by this version. Move the checkpoints away or choose another checkpoint.dir");
                }
                var created = identity with { RunId = NewRunId() };
                var bytes = created.ToJsonBytes();
                DurableFile.Replace(identityPath, stream => stream.Write(bytes));
                return new RunFolder(path, heldLock, created, created: true);
            }
            var existing = RunIdentity.Read(identityPath);
            if (existing.Job != identity.Job)
            {
                throw new RunFolderException(
                    $"checkpoint.dir '{path}' belongs to job '{existing.Job}' (see {IdentityFile}); this job is '{identity.Job}'. Choose another checkpoint.dir for it");
            }
            var differences = existing.LayoutDifferences(identity);
            if (differences.Count > 0)
            {
                throw new RunFolderException(
                    $"checkpoint.dir '{path}': job '{identity.Job}' was started with another model/task layout, so its checkpoints do not fit this model: " +
                    string.Join("; ", differences.Take(8)) + (differences.Count > 8 ? $"; and {differences.Count - 8} more" : ""));
            }
            if (existing.RunId is null)
            {
                // A folder from before run ids: it gets one now (every check above has passed).
                existing = existing with { RunId = NewRunId() };
                var bytes = existing.ToJsonBytes();
                DurableFile.Replace(identityPath, stream => stream.Write(bytes));
            }
            return new RunFolder(path, heldLock, existing, created: false);
        }
        catch
        {
            heldLock?.Dispose();
            throw;
        }
    }

    private static string NewRunId() => Guid.NewGuid().ToString("N");

    /// <summary>
    /// Refuses, naming the folder, a checkpoint folder this process cannot create or write (a
    /// read-only mount, a missing shared file system): in a cluster rank 0 writes checkpoints and
    /// the coordinator commits them, and either may run on any node, so every node checks at start
    /// instead of failing at the first checkpoint. Writes, fsyncs and removes a probe file.
    /// </summary>
    public static void CheckWritable(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        path = System.IO.Path.GetFullPath(path);
        var probe = System.IO.Path.Combine(path, $".write-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(path);
            using (var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.WriteByte(0);
                stream.Flush(flushToDisk: true);
            }
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFolderException(
                $"checkpoint.dir '{path}' is not writable from this node ({e.Message}); on a cluster it must be storage every node can write, mounted at the same path");
        }
    }

    /// <summary>False when the folder was opened without its lock (see <see cref="Open(string, RunIdentity, TimeSpan, bool)"/>).</summary>
    public bool HoldsLock => _lock is not null;

    /// <summary>Releases the lock (the identity stays).</summary>
    public void Dispose()
    {
        _lock?.Dispose();
    }

    private static FileStream TakeLock(string path, TimeSpan waitForLock)
    {
        var lockPath = System.IO.Path.Combine(path, LockFile);
        var ownerPath = System.IO.Path.Combine(path, OwnerFile);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        FileStream held;
        while (true)
        {
            try
            {
                held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                break;
            }
            catch (IOException) when (waited.Elapsed < waitForLock)
            {
                Thread.Sleep(250);
            }
            catch (IOException e)
            {
                throw InUse(path, ownerPath, e, waited.Elapsed);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new RunFolderException($"checkpoint.dir '{path}': cannot open {LockFile}: {e.Message}");
            }
        }
        try
        {
            File.WriteAllText(ownerPath, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            held.Dispose();
            throw new RunFolderException($"checkpoint.dir '{path}' is not writable: {e.Message}");
        }
        return held;
    }

    private static RunFolderInUseException InUse(string path, string ownerPath, IOException e, TimeSpan waited)
    {
        string owner;
        try
        {
            owner = File.ReadAllText(ownerPath).Trim();
        }
        catch (IOException)
        {
            owner = "unknown";
        }
        string after = waited > TimeSpan.FromMilliseconds(200) ? $" (waited {waited.TotalSeconds:0.#} s for it)" : "";
        return new RunFolderInUseException($"checkpoint.dir '{path}' is in use by another gppf process (pid {owner}){after}; only one process may train in a run folder at a time ({e.Message})");
    }
}

/// <summary>
/// Which job a run folder belongs to and the layout of its model (what decides the shapes and keys
/// of its checkpoints), as flat <c>key = value</c> pairs so a mismatch can be reported key by key.
/// </summary>
public sealed record RunIdentity(string Job, IReadOnlyDictionary<string, string> Layout)
{
    /// <summary>The run folder's own id, made when the folder is first used; names the run in a journal several runs share.</summary>
    public string? RunId { get; init; }

    /// <summary>Differences in layout, each naming the key and both values ("saved" vs "now").</summary>
    public IReadOnlyList<string> LayoutDifferences(RunIdentity now)
    {
        var keys = Layout.Keys.Union(now.Layout.Keys).Order(StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var key in keys)
        {
            var saved = Layout.GetValueOrDefault(key);
            var current = now.Layout.GetValueOrDefault(key);
            if (saved != current)
            {
                result.Add($"{key}: {saved ?? "(absent)"} in the run folder, {current ?? "(absent)"} now");
            }
        }
        return result;
    }

    /// <summary>The identity file's bytes.</summary>
    public byte[] ToJsonBytes()
    {
        var layout = new JsonObject();
        foreach (var (key, value) in Layout.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            layout[key] = value;
        }
        var root = new JsonObject { ["format"] = 1, ["job"] = Job, ["layout"] = layout };
        if (RunId is not null)
        {
            root["run_id"] = RunId;
        }
        return JsonSerializer.SerializeToUtf8Bytes(root, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads an identity file.</summary>
    /// <exception cref="RunFolderException">The file is unreadable or malformed; the message names it.</exception>
    public static RunIdentity Read(string path)
    {
        try
        {
            var root = JsonNode.Parse(File.ReadAllBytes(path))?.AsObject() ?? throw new FormatException("empty");
            if ((int?)root["format"] != 1)
            {
                throw new FormatException($"format {root["format"]} is not 1");
            }
            var job = (string?)root["job"] ?? throw new FormatException("no \"job\"");
            var layout = (root["layout"]?.AsObject() ?? throw new FormatException("no \"layout\""))
                .ToDictionary(kv => kv.Key, kv => (string?)kv.Value ?? "", StringComparer.Ordinal);
            return new RunIdentity(job, layout) { RunId = (string?)root["run_id"] };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or InvalidOperationException)
        {
            throw new RunFolderException($"{path}: unreadable run identity: {e.Message}");
        }
    }
}

/// <summary>A run folder cannot be used; the message names the folder and the reason.</summary>
public class RunFolderException(string message) : Exception(message);

/// <summary>Another process holds the run folder's lock.</summary>
public sealed class RunFolderInUseException(string message) : RunFolderException(message);
