namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Picks the checkpoint a run resumes from: the newest committed one that loads and matches the
/// manifest hash the journal recorded, falling back past corrupt ones with a loud warning each,
/// since a silent fallback would hide lost progress.
/// </summary>
/// <remarks>
/// A committed checkpoint whose directory is missing is not corrupt: the storage may not be mounted,
/// or the folder was moved. Falling back past it (and discarding it in the journal) would throw away
/// progress for good, so it stops the resume unless the caller explicitly allows it.
/// </remarks>
public static class CheckpointResolver
{
    /// <summary>Loads a committed checkpoint, verifying every file and the journaled manifest hash.</summary>
    public static CheckpointPayload LoadVerified(CheckpointRecord record) => CheckpointReader.Load(record.Directory, record.ManifestSha256);

    /// <summary>
    /// Tries <paramref name="committedNewestFirst"/> in order with <paramref name="load"/> and returns
    /// the first that loads; what could not be loaded is in <see cref="ResolvedCheckpoint.Skipped"/>.
    /// </summary>
    /// <exception cref="ResumeException">
    /// Nothing is committed, nothing loads, or a newer committed checkpoint is missing and
    /// <paramref name="allowMissing"/> is false; the message lists every checkpoint tried and why.
    /// </exception>
    /// <remarks>
    /// Only a corrupt (or, when allowed, missing) checkpoint is skipped. Any other failure
    /// (permissions, an I/O error) propagates: falling back then would silently throw away good progress.
    /// </remarks>
    public static ResolvedCheckpoint Resolve(
        IReadOnlyList<CheckpointRecord> committedNewestFirst,
        Func<CheckpointRecord, CheckpointPayload> load,
        bool allowMissing,
        Action<string> warn)
    {
        ArgumentNullException.ThrowIfNull(committedNewestFirst);
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(warn);
        if (committedNewestFirst.Count == 0)
        {
            throw new ResumeException("--resume: the journal holds no committed checkpoint of this job; run without --resume to start from step 0");
        }
        var skipped = new List<SkippedCheckpoint>();
        for (var index = 0; index < committedNewestFirst.Count; index++)
        {
            var record = committedNewestFirst[index];
            var previous = index + 1 < committedNewestFirst.Count ? committedNewestFirst[index + 1] : null;
            string reason;
            if (!Directory.Exists(record.Directory))
            {
                reason = $"its directory '{record.Directory}' does not exist";
                if (!allowMissing)
                {
                    throw new ResumeException(
                        $"--resume: the newest committed checkpoint, step {record.Step}, is missing: {reason} (storage not mounted? folder moved?). Nothing was changed. " +
                        (previous is null
                            ? "No older committed checkpoint exists; restore the folder"
                            : $"Restore the folder, or pass --discard-missing to resume from the older step {previous.Step} and record step {record.Step} as discarded"));
                }
            }
            else
            {
                try
                {
                    var payload = load(record);
                    if (payload.Step == record.Step)
                    {
                        return new ResolvedCheckpoint(payload, record, skipped);
                    }
                    reason = $"it holds step {payload.Step}, not the journaled step {record.Step}";
                    payload.Dispose();
                }
                catch (CorruptCheckpointException exception)
                {
                    reason = exception.Message;
                }
            }
            skipped.Add(new SkippedCheckpoint(record, reason));
            var fallback = previous is null ? "no older committed checkpoint is left" : $"falling back to step {previous.Step} at '{previous.Directory}'";
            warn($"CHECKPOINT UNUSABLE: committed checkpoint of step {record.Step} at '{record.Directory}' cannot be loaded ({reason}); {fallback}. Training progress after the fallback step will be redone.");
        }
        throw new ResumeException("--resume: no committed checkpoint could be loaded; nothing was changed. Tried: " +
            string.Join("; ", skipped.Select(s => $"step {s.Record.Step} at '{s.Record.Directory}': {s.Reason}")));
    }
}

/// <summary>A run cannot resume; the message says what was tried and what the user can do.</summary>
public sealed class ResumeException(string message) : Exception(message);
