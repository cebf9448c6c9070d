namespace GppfActors.Actors.Checkpointing;

/// <summary>What the journal does with a <c>CommitCheckpoint</c>, decided purely from its state.</summary>
public abstract record CommitDecision
{
    private CommitDecision()
    {
    }

    /// <summary>A new checkpoint: persist <c>CheckpointCommitted</c>, then acknowledge.</summary>
    public sealed record Persist : CommitDecision;

    /// <summary>
    /// The same checkpoint is already committed (a retried command): acknowledge again without a
    /// second event, so retries are safe.
    /// </summary>
    public sealed record AlreadyCommitted : CommitDecision;

    /// <summary>The commit would break an invariant; reply with the reason and persist nothing.</summary>
    public sealed record Reject(string Reason) : CommitDecision;
}
