namespace GppfActors.Actors.Coordinator;

/// <summary>
/// Counts steps skipped because some device had a non-finite loss or gradient; more than
/// <c>maxConsecutive</c> in a row stop the run (the model or the data is broken, and skipping forever
/// would only burn the cluster). Pure.
/// </summary>
public sealed class NonFiniteGuard(int maxConsecutive)
{
    /// <summary>Skipped steps allowed in a row.</summary>
    public int MaxConsecutive { get; } = maxConsecutive >= 1 ? maxConsecutive : throw new ArgumentOutOfRangeException(nameof(maxConsecutive));

    /// <summary>Steps skipped by this coordinator (and those it took over from).</summary>
    public long Total { get; private set; }

    /// <summary>Steps skipped since the last applied one.</summary>
    public int Consecutive { get; private set; }

    /// <summary>A step was skipped; false when that makes too many in a row.</summary>
    public bool Skipped()
    {
        Total++;
        Consecutive++;
        return Consecutive < MaxConsecutive;
    }

    /// <summary>Continues the counts of a coordinator this one took over from.</summary>
    public void Restore(long total, int consecutive)
    {
        Total = Math.Max(0, total);
        Consecutive = Math.Max(0, consecutive);
    }

    /// <summary>A step was applied.</summary>
    public void Applied() => Consecutive = 0;
}
