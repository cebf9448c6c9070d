namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Picks the checkpoint a run resumes from: the newest committed one that loads, falling back past
/// damaged or missing ones with a loud warning each, since a silent fallback would hide lost progress.
/// </summary>
public static class CheckpointResolver
{
    /// <summary>
    /// Tries <paramref name="committedNewestFirst"/> in order with <paramref name="load"/> (given the
    /// directory) and returns the first that loads, or null when none does (or none is committed).
    /// </summary>
    /// <remarks>
    /// Only a corrupt or missing checkpoint is skipped. Any other failure (permissions, a disk that is
    /// not mounted yet) propagates: falling back then would silently throw away good progress.
    /// </remarks>
    public static ResolvedCheckpoint? LatestLoadable(
        IReadOnlyList<CheckpointRecord> committedNewestFirst,
        Func<string, CheckpointPayload> load,
        Action<string> warn)
    {
        ArgumentNullException.ThrowIfNull(committedNewestFirst);
        ArgumentNullException.ThrowIfNull(load);
        ArgumentNullException.ThrowIfNull(warn);
        var skipped = new List<SkippedCheckpoint>();
        for (var index = 0; index < committedNewestFirst.Count; index++)
        {
            var record = committedNewestFirst[index];
            string reason;
            try
            {
                var payload = load(record.Directory);
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
            catch (Exception exception) when (exception is DirectoryNotFoundException or FileNotFoundException)
            {
                reason = $"missing: {exception.Message}";
            }
            skipped.Add(new SkippedCheckpoint(record, reason));
            var previous = index + 1 < committedNewestFirst.Count ? committedNewestFirst[index + 1] : null;
            var fallback = previous is null ? "no older committed checkpoint is left" : $"falling back to step {previous.Step} at '{previous.Directory}'";
            warn($"CHECKPOINT UNUSABLE: committed checkpoint of step {record.Step} at '{record.Directory}' cannot be loaded ({reason}); {fallback}. Training progress after the fallback step will be redone.");
        }
        return null;
    }
}
