namespace GppfActors.Collectives;

/// <summary>
/// A point in time on a monotonic clock (<see cref="TimeProvider.GetTimestamp"/>), never on the
/// wall clock: a wall-clock jump (NTP step, manual change) must neither fire a time-out early nor
/// postpone it forever.
/// </summary>
internal readonly struct Deadline
{
    private readonly TimeProvider _time;
    private readonly long _at;

    private Deadline(TimeProvider time, long at)
    {
        _time = time;
        _at = at;
    }

    /// <summary>The deadline <paramref name="span"/> from now on <paramref name="time"/>'s monotonic clock.</summary>
    public static Deadline After(TimeProvider time, TimeSpan span)
    {
        long now = time.GetTimestamp();
        // Saturate instead of overflowing for "practically never" time-outs.
        double ticks = span.TotalSeconds * time.TimestampFrequency;
        long at = ticks >= long.MaxValue - (double)now ? long.MaxValue : now + (long)Math.Max(0, ticks);
        return new Deadline(time, at);
    }

    /// <summary>Time left; zero or negative once the deadline has passed.</summary>
    public TimeSpan Remaining => _time.GetElapsedTime(_time.GetTimestamp(), _at);

    /// <summary>True once the deadline has passed.</summary>
    public bool HasPassed => _time.GetTimestamp() >= _at;

    /// <summary>Time left, clamped to what <see cref="Monitor.Wait(object, TimeSpan)"/> accepts; zero once passed.</summary>
    public TimeSpan WaitSlice
    {
        get
        {
            var remaining = Remaining;
            if (remaining <= TimeSpan.Zero)
            {
                return TimeSpan.Zero;
            }
            // Monitor.Wait takes at most int.MaxValue milliseconds; rounding up keeps a short wait
            // from spinning on a zero-millisecond slice.
            return TimeSpan.FromMilliseconds(Math.Min(int.MaxValue - 1, Math.Ceiling(remaining.TotalMilliseconds)));
        }
    }
}
