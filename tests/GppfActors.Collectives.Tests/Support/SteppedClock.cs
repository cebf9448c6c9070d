namespace GppfActors.Collectives.Tests.Support;

/// <summary>
/// A clock whose monotonic timestamp moves only when the test says so and whose wall clock jumps
/// by a day at every read: code that takes its deadlines from the wall clock fails against it.
/// </summary>
internal sealed class SteppedClock : TimeProvider
{
    private readonly DateTimeOffset _wallStart = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly int _notifyAfterReads;
    private long _timestamp = 1_000_000;
    private long _wallReads;
    private int _reads;

    /// <param name="notifyAfterReads">After this many timestamp reads <see cref="EnoughReads"/> is set.</param>
    public SteppedClock(int notifyAfterReads) => _notifyAfterReads = notifyAfterReads;

    /// <summary>Set once the timestamp was read <c>notifyAfterReads</c> times: a waiter went round its wait loop that often.</summary>
    public ManualResetEventSlim EnoughReads { get; } = new();

    public bool WallClockRead => Interlocked.Read(ref _wallReads) > 0;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        if (Interlocked.Increment(ref _reads) >= _notifyAfterReads)
        {
            EnoughReads.Set();
        }
        return Interlocked.Read(ref _timestamp);
    }

    public override DateTimeOffset GetUtcNow() => _wallStart + TimeSpan.FromDays(Interlocked.Increment(ref _wallReads));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _timestamp, by.Ticks);

    /// <summary>Starts counting reads afresh.</summary>
    public void ResetReads(int reads = 0)
    {
        Interlocked.Exchange(ref _reads, reads);
        EnoughReads.Reset();
    }
}
