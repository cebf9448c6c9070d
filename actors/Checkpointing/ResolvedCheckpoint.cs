namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// The checkpoint a resume starts from: the loaded payload (owned by the receiver, who disposes it),
/// the journal record it came from, and the newer committed checkpoints that could not be loaded.
/// </summary>
public sealed record ResolvedCheckpoint(CheckpointPayload Payload, CheckpointRecord Record, IReadOnlyList<SkippedCheckpoint> Skipped);

/// <summary>A committed checkpoint the resolver could not load, and why; the coordinator discards these.</summary>
public sealed record SkippedCheckpoint(CheckpointRecord Record, string Reason);
