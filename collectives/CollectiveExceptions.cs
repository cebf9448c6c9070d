namespace GppfActors.Collectives;

/// <summary>Base of every failure a collective reports; carries the epoch and the operation it happened in.</summary>
public class CollectiveException : Exception
{
    public CollectiveException(long epoch, string operation, string message, Exception? inner = null)
        : base($"collective '{operation}' in epoch {epoch}: {message}", inner)
    {
        Epoch = epoch;
        Operation = operation;
    }

    /// <summary>Membership epoch of the group that failed.</summary>
    public long Epoch { get; }

    /// <summary>Name of the operation that was in flight.</summary>
    public string Operation { get; }
}

/// <summary>The group was aborted (by a member, by the owner, or after another member's time-out).</summary>
public sealed class CollectiveAbortedException(long epoch, string operation, string reason)
    : CollectiveException(epoch, operation, $"aborted: {reason}")
{
    /// <summary>Why the group was aborted.</summary>
    public string Reason { get; } = reason;
}

/// <summary>Not every member arrived within the time-out; the group is aborted for everyone.</summary>
public sealed class CollectiveTimeoutException(long epoch, string operation, TimeSpan timeout, IReadOnlyList<int> missingRanks)
    : CollectiveException(epoch, operation,
        $"timed out after {timeout.TotalSeconds:0.###} s waiting for rank(s) {string.Join(", ", missingRanks)}")
{
    /// <summary>Ranks that had not arrived when the time-out fired.</summary>
    public IReadOnlyList<int> MissingRanks { get; } = missingRanks;

    /// <summary>The time-out that fired.</summary>
    public TimeSpan Timeout { get; } = timeout;
}

/// <summary>Members issued different operations (or different sizes) at the same point of the sequence.</summary>
public sealed class CollectiveMismatchException(long epoch, string operation, string detail)
    : CollectiveException(epoch, operation, $"members disagree: {detail}")
{
    /// <summary>What each member issued.</summary>
    public string Detail { get; } = detail;
}
