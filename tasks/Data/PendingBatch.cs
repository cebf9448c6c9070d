using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace GppfActors.Tasks.Data;

/// <summary>
/// One batch being decoded by the workers: per-position results or errors, the collated batch (made
/// by the worker that finished the last position), and a signal when it is sealed. Deliberately not
/// disposable: a worker may still seal a batch the caller gave up on, and the slim event holds no
/// kernel handle unless asked for one, so the garbage collector can simply reclaim it. The collated
/// batch is handed out once (<see cref="Take"/>); one nobody will take is disposed by whoever comes
/// last, the worker sealing it or the caller cancelling it.
/// </summary>
internal sealed class PendingBatch
{
    private readonly ManualResetEventSlim done = new(false);
    private readonly Lock gate = new();
    private int remaining;
    private volatile bool cancelled;
    private TaskBatch? collated;
    private Exception? collateError;

    public PendingBatch(long step, int rank, long[] indices)
    {
        Step = step;
        Rank = rank;
        Indices = indices;
        Results = new AugmentedSample?[indices.Length];
        Errors = new Exception?[indices.Length];
        Skips = [.. indices.Select(_ => new List<SkippedSample>())];
        Finished = new bool[indices.Length];
        remaining = indices.Length;
    }

    public long Step { get; }

    /// <summary>The rank the batch is augmented for (a key of its randomness).</summary>
    public int Rank { get; }

    public long[] Indices { get; }

    public AugmentedSample?[] Results { get; }

    public Exception?[] Errors { get; }

    public List<SkippedSample>[] Skips { get; }

    /// <summary>Which positions are done, for naming the file a time-out is waiting on.</summary>
    public bool[] Finished { get; }

    /// <summary>Set when nobody will collect this batch (the hint was wrong, or Get gave up); workers then skip its jobs.</summary>
    public bool Cancelled => cancelled;

    /// <summary>True once the batch is sealed: collated, or known to have failed.</summary>
    public bool IsSealed => done.IsSet;

    public bool Matches(long step, int rank, IReadOnlyList<long> indices) => step == Step && rank == Rank && indices.SequenceEqual(Indices);

    public void Cancel()
    {
        TaskBatch? orphan;
        lock (gate)
        {
            cancelled = true;
            orphan = collated;
            collated = null;
        }
        orphan?.Dispose();
    }

    /// <summary>Called by a worker once per position, success or not; true for the call that finished the last one, which then seals the batch.</summary>
    public bool Complete(int position)
    {
        Volatile.Write(ref Finished[position], true);
        return Interlocked.Decrement(ref remaining) == 0;
    }

    /// <summary>
    /// Makes the batch ready: <paramref name="batch"/> is the collated batch (null when a position
    /// failed, or when collating failed with <paramref name="error"/>). A cancelled batch's is disposed.
    /// </summary>
    public void Seal(TaskBatch? batch, Exception? error)
    {
        bool orphan;
        lock (gate)
        {
            orphan = cancelled;
            collateError = error;
            collated = orphan ? null : batch;
        }
        if (orphan)
        {
            batch?.Dispose();
        }
        done.Set();
    }

    /// <summary>The collated batch of a sealed batch whose positions all succeeded; the caller owns it. Throws what collating threw.</summary>
    public TaskBatch Take()
    {
        lock (gate)
        {
            if (collateError is not null)
            {
                ExceptionDispatchInfo.Capture(collateError).Throw();
            }
            var batch = collated ?? throw new InvalidOperationException($"the batch of step {Step} was already taken or never collated");
            collated = null;
            return batch;
        }
    }

    /// <summary>
    /// True once every position is in; false when <paramref name="timeout"/> has passed first. The deadline is kept on
    /// <see cref="Stopwatch"/> (monotonic, unaffected by clock changes) and the wait resumes until it has really
    /// passed, so a time-out is never reported early, whatever the granularity of the event's own timer.
    /// </summary>
    public bool Wait(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                return done.IsSet;
            }
            if (done.Wait(left))
            {
                return true;
            }
        }
    }
}
