using System.Collections.Immutable;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// The checkpoint journal's domain state and decisions, pure so they are tested without an
/// ActorSystem: the committed checkpoints by step, and the run history.
/// </summary>
public sealed class CheckpointJournalState
{
    private const int Sha256HexLength = 64;

    private readonly ImmutableSortedDictionary<long, CheckpointRecord> _committed;
    private readonly ImmutableList<RunStarted> _runs;

    private CheckpointJournalState(ImmutableSortedDictionary<long, CheckpointRecord> committed, ImmutableList<RunStarted> runs, CoordinatorTookOver? takeover)
    {
        _committed = committed;
        _runs = runs;
        LastTakeover = takeover;
    }

    /// <summary>A journal with no events.</summary>
    public static CheckpointJournalState Empty { get; } = new(ImmutableSortedDictionary<long, CheckpointRecord>.Empty, [], null);

    /// <summary>The newest coordinator takeover, or null: its epoch fences every older coordinator.</summary>
    public CoordinatorTookOver? LastTakeover { get; }

    /// <summary>The epoch below which nobody may commit: the newest takeover's (0 when none).</summary>
    public long FenceEpoch => LastTakeover?.Epoch ?? 0;

    /// <summary>The newest committed checkpoint (highest step), or null when none is committed.</summary>
    public CheckpointRecord? Latest => _committed.IsEmpty ? null : _committed.Values.Last();

    /// <summary>Every committed checkpoint, newest first.</summary>
    public IReadOnlyList<CheckpointRecord> CommittedNewestFirst => _committed.Values.Reverse().ToList();

    /// <summary>Every recorded run start, oldest first.</summary>
    public IReadOnlyList<RunStarted> Runs => _runs;

    /// <summary>The state after <paramref name="journalEvent"/>; events that name unknown steps change nothing.</summary>
    public CheckpointJournalState Apply(ICheckpointJournalEvent journalEvent) => journalEvent switch
    {
        CheckpointCommitted committed => new(_committed.SetItem(committed.Record.Step, committed.Record), _runs, LastTakeover),
        CheckpointsDeleted deleted => new(_committed.RemoveRange(deleted.Steps), _runs, LastTakeover),
        CheckpointDiscarded discarded => new(_committed.Remove(discarded.Step), _runs, LastTakeover),
        RunStarted started => new(_committed, _runs.Add(started), LastTakeover),
        CoordinatorTookOver takeover => new(_committed, _runs, takeover.Epoch >= FenceEpoch ? takeover : LastTakeover),
        _ => throw new ArgumentException($"Unknown checkpoint journal event {journalEvent.GetType().Name}", nameof(journalEvent)),
    };

    /// <summary>Whether <paramref name="step"/> has a committed checkpoint.</summary>
    public bool IsCommitted(long step) => _committed.ContainsKey(step);

    /// <summary>The committed checkpoint of <paramref name="step"/>, or null.</summary>
    public CheckpointRecord? Find(long step) => _committed.GetValueOrDefault(step);

    /// <summary>
    /// Whether <paramref name="record"/> may be committed. Progress never goes back: a step older
    /// than the latest, or an epoch older than the latest's (a coordinator of a finished epoch), is
    /// refused; the same record twice is a retry and is acknowledged without a second event.
    /// </summary>
    public CommitDecision DecideCommit(CheckpointRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (Malformed(record) is { } problem)
        {
            return new CommitDecision.Reject(problem);
        }
        if (Find(record.Step) is { } existing)
        {
            return SameCheckpoint(existing, record)
                ? new CommitDecision.AlreadyCommitted()
                : new CommitDecision.Reject(
                    $"step {record.Step} is already committed as '{existing.Directory}' with manifest {existing.ManifestSha256}; discard it before committing another");
        }
        if (record.Epoch < FenceEpoch)
        {
            return new CommitDecision.Reject(
                $"epoch {record.Epoch} is older than epoch {FenceEpoch}, from which the coordinator on {LastTakeover!.Node} took over at step {LastTakeover.Step}; a superseded coordinator cannot commit");
        }
        if (Latest is { } latest)
        {
            if (record.Step < latest.Step)
            {
                return new CommitDecision.Reject(
                    $"step {record.Step} is older than the latest committed step {latest.Step}; progress never goes back (discard the newer checkpoint first if it is bad)");
            }
            if (record.Epoch < latest.Epoch)
            {
                return new CommitDecision.Reject(
                    $"epoch {record.Epoch} is older than the latest committed epoch {latest.Epoch}; a coordinator of a finished epoch cannot commit");
            }
        }
        return new CommitDecision.Persist();
    }

    /// <summary>
    /// Whether a coordinator may take over with epochs from <paramref name="epoch"/> on: refused
    /// when a takeover or a commit of that epoch or a newer one is journaled (that coordinator is
    /// newer than the one asking).
    /// </summary>
    public string? RefuseTakeover(long epoch)
    {
        if (epoch <= FenceEpoch)
        {
            return $"the coordinator on {LastTakeover!.Node} took over with epoch {FenceEpoch} (at step {LastTakeover.Step}), not older than {epoch}";
        }
        long committedEpoch = _committed.Values.Select(r => r.Epoch).DefaultIfEmpty(-1).Max();
        return epoch <= committedEpoch ? $"a checkpoint of epoch {committedEpoch} is committed, not older than {epoch}" : null;
    }

    /// <summary>The committed checkpoints <paramref name="policy"/> drops now, oldest first.</summary>
    public IReadOnlyList<CheckpointRecord> DecideRetention(RetentionPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.SelectForDeletion(CommittedNewestFirst);
    }

    private static bool SameCheckpoint(CheckpointRecord a, CheckpointRecord b) =>
        a.Epoch == b.Epoch
        && string.Equals(a.ManifestSha256, b.ManifestSha256, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.Directory, b.Directory, StringComparison.Ordinal);

    private static string? Malformed(CheckpointRecord record)
    {
        if (record.Step < 0 || record.Epoch < 0)
        {
            return $"step {record.Step} and epoch {record.Epoch} must not be negative";
        }
        if (string.IsNullOrEmpty(record.Directory) || !Path.IsPathFullyQualified(record.Directory))
        {
            return $"directory '{record.Directory}' is not an absolute path; the journal must find it from any working directory";
        }
        if (record.ManifestSha256 is not { Length: Sha256HexLength } || !record.ManifestSha256.All(char.IsAsciiHexDigit))
        {
            return $"manifest hash '{record.ManifestSha256}' is not a hex SHA-256";
        }
        return null;
    }
}
