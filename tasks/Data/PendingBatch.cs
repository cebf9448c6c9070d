using System.Diagnostics;

namespace GppfActors.Tasks.Data;

/// <summary>
/// One batch being decoded by the workers: per-position results or errors, and a signal when all are in.
/// Deliberately not disposable: a worker may still signal a batch the caller gave up on, and the slim
/// event holds no kernel handle unless asked for one, so the garbage collector can simply reclaim it.
/// </summary>
internal sealed class PendingBatch
{
    private readonly ManualResetEventSlim done = new(false);
    private int remaining;
    private volatile bool cancelled;

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

    public bool Matches(long step, int rank, IReadOnlyList<long> indices) => step == Step && rank == Rank && indices.SequenceEqual(Indices);

    public void Cancel() => cancelled = true;

    /// <summary>Called by a worker once per position, success or not.</summary>
    public void Complete(int position)
    {
        Volatile.Write(ref Finished[position], true);
        if (Interlocked.Decrement(ref remaining) == 0)
        {
            done.Set();
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
