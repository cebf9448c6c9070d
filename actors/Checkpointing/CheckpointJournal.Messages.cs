using GppfActors.Actors.Messages;

namespace GppfActors.Actors.Checkpointing;

/// <summary>An event the checkpoint journal persists; replaying them in order rebuilds its state.</summary>
/// <remarks>
/// Events are stored with Hyperion (through <see cref="IGppfMessage"/>), which writes field names and
/// types: renaming or retyping a field of an event breaks the recovery of journals already written,
/// so change them only together with a migration.
/// </remarks>
public interface ICheckpointJournalEvent : IGppfMessage;

/// <summary>Command: make a written checkpoint the newest committed one.</summary>
public sealed record CommitCheckpoint(CheckpointRecord Record) : IGppfMessage;

/// <summary>
/// Event and reply: the checkpoint is committed. Sent only after the event is in the journal, so an
/// acknowledged checkpoint survives any crash that follows.
/// </summary>
public sealed record CheckpointCommitted(CheckpointRecord Record) : ICheckpointJournalEvent;

/// <summary>Reply: the commit was refused and nothing was persisted; <paramref name="Reason"/> says why.</summary>
public sealed record CommitCheckpointFailed(long Step, string Reason) : IGppfMessage;

/// <summary>Query: the newest committed checkpoint and all committed ones.</summary>
public sealed record GetLatestCheckpoint : IGppfMessage
{
    /// <summary>The query has no fields; one instance serves every sender.</summary>
    public static GetLatestCheckpoint Instance { get; } = new();
}

/// <summary>
/// Reply to <see cref="GetLatestCheckpoint"/>: the newest (null when none) and every committed
/// checkpoint, newest first, and the epoch of the newest coordinator takeover (0 when none).
/// </summary>
public sealed record LatestCheckpoint(CheckpointRecord? Record, IReadOnlyList<CheckpointRecord> Committed, long TakeoverEpoch = 0) : IGppfMessage;

/// <summary>
/// Command: a coordinator on <paramref name="Node"/> takes over the run (the previous coordinator's
/// node was lost) and will form epochs from <paramref name="Epoch"/> on. Once journaled, commits
/// of older epochs (the superseded coordinator's) are refused, and so is any takeover that is not
/// newer: there is never a second coordinator that can commit.
/// </summary>
public sealed record RecordTakeover(long Epoch, string Node, long Step) : IGppfMessage;

/// <summary>Event and reply: the takeover is journaled.</summary>
public sealed record CoordinatorTookOver(long Epoch, string Node, long Step, DateTime TookOverUtc) : ICheckpointJournalEvent;

/// <summary>Reply: the takeover was refused (a coordinator of a newer epoch took over, or committed, already).</summary>
public sealed record TakeoverRefused(long Epoch, string Reason) : IGppfMessage;

/// <summary>Command: record that a run (re)started with the config whose SHA-256 is given.</summary>
public sealed record RecordRunStarted(string RunName, string ConfigSha256) : IGppfMessage;

/// <summary>Event and reply: a run started with that config; the history shows every resume and config change.</summary>
public sealed record RunStarted(string RunName, string ConfigSha256, DateTime StartedUtc) : ICheckpointJournalEvent;

/// <summary>Query: every <see cref="RunStarted"/> so far, oldest first.</summary>
public sealed record GetRunHistory : IGppfMessage
{
    /// <summary>The query has no fields; one instance serves every sender.</summary>
    public static GetRunHistory Instance { get; } = new();
}

/// <summary>Reply to <see cref="GetRunHistory"/>.</summary>
public sealed record RunHistory(IReadOnlyList<RunStarted> Runs) : IGppfMessage;

/// <summary>
/// Command: withdraw a committed checkpoint that turned out unloadable (the resolver fell back past
/// it), so the run can commit that step again and "latest" stops pointing at it. Its directory is
/// left for inspection; startup hygiene removes it later, as it is no longer committed.
/// </summary>
public sealed record DiscardCheckpoint(long Step, string Reason) : IGppfMessage;

/// <summary>Event and reply: the checkpoint of <paramref name="Step"/> is no longer committed.</summary>
public sealed record CheckpointDiscarded(long Step, string Reason) : ICheckpointJournalEvent;

/// <summary>Event: retention removed these checkpoints' directories; they are no longer committed.</summary>
public sealed record CheckpointsDeleted(IReadOnlyList<long> Steps) : ICheckpointJournalEvent;

/// <summary>Internal: a background removal of retired checkpoint directories finished; piped back to the journal.</summary>
internal sealed record RetentionSwept(IReadOnlyList<long> DeletedSteps, IReadOnlyList<RetentionFailure> Failures) : IGppfMessage;

/// <summary>Internal: a directory retention could not remove, and why.</summary>
internal sealed record RetentionFailure(CheckpointRecord Record, string Reason) : IGppfMessage;

/// <summary>Query: answer once no journal write or directory removal is under way (before a process ends).</summary>
public sealed record Quiesce : IGppfMessage
{
    public static Quiesce Instance { get; } = new();
}

/// <summary>Reply to <see cref="Quiesce"/>.</summary>
public sealed record Quiesced : IGppfMessage
{
    public static Quiesced Instance { get; } = new();
}
