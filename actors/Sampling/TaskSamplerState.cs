using System.Text.Json;

namespace GppfActors.Actors.Sampling;

/// <summary>
/// Pure state of the task sampler: which task each device runs in a step and which sample indices
/// it gets. Task draws come from (seed, step, rank); every task walks its own data set through
/// epochs, each a permutation reshuffled from (seed, task, epoch), with an exact cursor. The whole
/// state is two numbers per task, saved in every checkpoint.
/// </summary>
public sealed class TaskSamplerState
{
    private readonly Dictionary<string, TaskCursor> cursors;
    private readonly Dictionary<(string Task, long Epoch), long[]> permutations = [];
    private readonly Dictionary<string, SampledTask> byName;

    /// <summary>A fresh sampler at epoch 0, position 0 of every task.</summary>
    public TaskSamplerState(IReadOnlyList<SampledTask> tasks, ulong seed, SamplingMode mode)
    {
        if (tasks.Count == 0)
        {
            throw new ArgumentException("sampler: at least one task is needed", nameof(tasks));
        }
        foreach (var t in tasks)
        {
            if (!(t.Weight > 0) || double.IsInfinity(t.Weight))
            {
                throw new ArgumentException($"tasks.{t.Name}.sampling_weight must be > 0, got {t.Weight}", nameof(tasks));
            }
            if (t.DatasetSize < 1 || t.BatchSize < 1)
            {
                throw new ArgumentException($"tasks.{t.Name}: data set size and batch size must be >= 1 (got {t.DatasetSize}, {t.BatchSize})", nameof(tasks));
            }
        }
        Tasks = tasks;
        Seed = seed;
        Mode = mode;
        cursors = tasks.ToDictionary(t => t.Name, _ => new TaskCursor(0, 0));
        byName = tasks.ToDictionary(t => t.Name);
    }

    /// <summary>The tasks, in configuration order.</summary>
    public IReadOnlyList<SampledTask> Tasks { get; }

    /// <summary>Seed of every draw.</summary>
    public ulong Seed { get; }

    /// <summary>SIMT or per-batch.</summary>
    public SamplingMode Mode { get; }

    /// <summary>The cursor of <paramref name="task"/>.</summary>
    public TaskCursor Cursor(string task) => cursors[task];

    /// <summary>The task of each of <paramref name="worldSize"/> devices in <paramref name="step"/>. Pure: no cursor moves.</summary>
    public string[] DrawTasks(long step, int worldSize)
    {
        var result = new string[worldSize];
        for (int rank = 0; rank < worldSize; rank++)
        {
            // Per-batch mode draws once per step (rank key fixed), SIMT once per device.
            double u = Counter.Uniform(Seed, 1, step, Mode == SamplingMode.PerBatch ? -1 : rank);
            result[rank] = Pick(u);
        }
        return result;
    }

    /// <summary>Hands out the sample indices of every device for one step (devices in rank order) and advances the cursors.</summary>
    public long[][] TakeIndices(IReadOnlyList<string> taskPerRank)
    {
        var result = new long[taskPerRank.Count][];
        for (int rank = 0; rank < taskPerRank.Count; rank++)
        {
            result[rank] = Take(byName[taskPerRank[rank]]);
        }
        return result;
    }

    /// <summary>The indices the next <see cref="TakeIndices"/> would hand out, without moving any cursor (prefetch hints).</summary>
    public long[][] PeekIndices(IReadOnlyList<string> taskPerRank)
    {
        var saved = cursors.ToDictionary(kv => kv.Key, kv => kv.Value);
        try
        {
            return TakeIndices(taskPerRank);
        }
        finally
        {
            foreach (var (k, v) in saved)
            {
                cursors[k] = v;
            }
        }
    }

    /// <summary>The state as JSON (stored in checkpoints).</summary>
    public string ToJson() => JsonSerializer.Serialize(new Snapshot(Seed, Mode, cursors.ToDictionary(kv => kv.Key, kv => kv.Value),
        Tasks.ToDictionary(t => t.Name, t => t.DatasetSize)));

    /// <summary>
    /// Restores cursors saved by <see cref="ToJson"/>. The task list must be the same, and so must
    /// every task's data set size: the data order is a permutation of the data set, so a data set
    /// that grew or shrank since the checkpoint would silently change (or, shrunk below the cursor,
    /// break) the order a resumed run reads.
    /// </summary>
    /// <exception cref="ArgumentException">The state does not fit this sampler; the message names the task and both sizes.</exception>
    public void LoadJson(string json)
    {
        Snapshot snapshot;
        try
        {
            snapshot = JsonSerializer.Deserialize<Snapshot>(json) ?? throw new ArgumentException("sampler state: empty JSON");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"sampler state: unreadable JSON: {e.Message}", e);
        }
        if (snapshot.Seed != Seed || snapshot.Mode != Mode)
        {
            throw new ArgumentException($"sampler state: saved seed/mode ({snapshot.Seed}, {snapshot.Mode}) differ from the job's ({Seed}, {Mode})");
        }
        var unknown = snapshot.Cursors.Keys.Except(cursors.Keys).ToList();
        var missing = cursors.Keys.Except(snapshot.Cursors.Keys).ToList();
        if (unknown.Count > 0 || missing.Count > 0)
        {
            throw new ArgumentException($"sampler state: tasks differ from the job's (saved only: [{string.Join(", ", unknown)}], job only: [{string.Join(", ", missing)}])");
        }
        foreach (var task in Tasks)
        {
            var cursor = snapshot.Cursors[task.Name];
            long? savedSize = snapshot.Sizes?.GetValueOrDefault(task.Name);
            if ((savedSize is { } size && size != task.DatasetSize) || cursor.Position > task.DatasetSize || cursor.Position < 0 || cursor.Epoch < 0)
            {
                throw new ArgumentException(
                    $"tasks.{task.Name}: the checkpoint read a data set of {(savedSize is { } s ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"at least {cursor.Position}")} samples " +
                    $"(cursor at position {cursor.Position} of epoch {cursor.Epoch}), but the data set now has {task.DatasetSize}; " +
                    "a resumed run would read another data order. Restore the data set the run was started with, or start a new run");
            }
        }
        foreach (var (task, cursor) in snapshot.Cursors)
        {
            cursors[task] = cursor;
        }
    }

    private string Pick(double u)
    {
        double total = Tasks.Sum(t => t.Weight);
        double acc = 0;
        foreach (var t in Tasks)
        {
            acc += t.Weight / total;
            if (u < acc)
            {
                return t.Name;
            }
        }
        return Tasks[^1].Name;
    }

    // Copies whole runs of the epoch's permutation (one lookup per run, not per sample): the
    // sampler draws for every device of a step, so this is the control plane's hot path.
    private long[] Take(SampledTask task)
    {
        var indices = new long[task.BatchSize];
        var cursor = cursors[task.Name];
        int filled = 0;
        while (filled < indices.Length)
        {
            if (cursor.Position >= task.DatasetSize)
            {
                permutations.Remove((task.Name, cursor.Epoch));
                cursor = new TaskCursor(cursor.Epoch + 1, 0);
            }
            var permutation = Permutation(task, cursor.Epoch);
            int count = (int)Math.Min(indices.Length - filled, task.DatasetSize - cursor.Position);
            Array.Copy(permutation, cursor.Position, indices, filled, count);
            filled += count;
            cursor = cursor with { Position = cursor.Position + count };
        }
        if (cursor.Position >= task.DatasetSize)
        {
            permutations.Remove((task.Name, cursor.Epoch));
            cursor = new TaskCursor(cursor.Epoch + 1, 0);   // a finished epoch reads as the next one's start
        }
        cursors[task.Name] = cursor;
        return indices;
    }

    // Fisher-Yates with counter-based draws: epoch e of a task is the same permutation on every run.
    private long[] Permutation(SampledTask task, long epoch)
    {
        if (permutations.TryGetValue((task.Name, epoch), out var cached))
        {
            return cached;
        }
        var p = new long[task.DatasetSize];
        for (long i = 0; i < p.Length; i++)
        {
            p[i] = i;
        }
        long taskKey = (long)Counter.Hash(0, task.Name.Select(c => (long)c).ToArray());
        for (long i = p.Length - 1; i > 0; i--)
        {
            long j = (long)(Counter.Uniform(Seed, 2, taskKey, epoch, i) * (i + 1));
            (p[i], p[j]) = (p[j], p[i]);
        }
        permutations[(task.Name, epoch)] = p;
        return p;
    }

    // Sizes is null in states written before sizes were recorded.
    private sealed record Snapshot(ulong Seed, SamplingMode Mode, Dictionary<string, TaskCursor> Cursors, Dictionary<string, long>? Sizes);
}

/// <summary>Where a task stands in its data: epoch number and position in that epoch's permutation.</summary>
public sealed record TaskCursor(long Epoch, long Position);
