namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Which committed checkpoints to keep: the newest <see cref="NumLatestKept"/>, plus every checkpoint
/// whose step is a multiple of <see cref="KeepEverySteps"/> (0: none), for long-range comparisons.
/// </summary>
public sealed record RetentionPolicy(int NumLatestKept, long KeepEverySteps)
{
    /// <summary>Keeps the newest three checkpoints and nothing older.</summary>
    public static RetentionPolicy Default { get; } = new(3, 0);

    /// <summary>Refuses a policy that could drop the newest checkpoint or has a negative interval.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The message says which value and why.</exception>
    public RetentionPolicy Validate()
    {
        if (NumLatestKept < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(NumLatestKept), NumLatestKept, "At least the newest checkpoint must be kept: a resume needs it");
        }
        if (KeepEverySteps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepEverySteps), KeepEverySteps, "Use 0 to keep no periodic checkpoints; negative intervals mean nothing");
        }
        return this;
    }

    /// <summary>The checkpoints this policy drops from <paramref name="committedNewestFirst"/>, oldest first.</summary>
    public IReadOnlyList<CheckpointRecord> SelectForDeletion(IReadOnlyList<CheckpointRecord> committedNewestFirst)
    {
        ArgumentNullException.ThrowIfNull(committedNewestFirst);
        return committedNewestFirst
            .Skip(NumLatestKept)
            .Where(record => KeepEverySteps == 0 || record.Step % KeepEverySteps != 0)
            .Reverse()
            .ToList();
    }
}
