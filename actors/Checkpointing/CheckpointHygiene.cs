namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Finds what crashes left in a checkpoint root, for removal at startup: <c>.tmp</c> directories
/// never renamed, <c>.deleting</c> directories from an interrupted retention, and <c>step-N</c>
/// directories renamed but never journaled whose own state names this job. Committed checkpoints,
/// and any <c>step-N</c> this job cannot prove it wrote, are never listed.
/// </summary>
public static class CheckpointHygiene
{
    /// <summary>
    /// Lists the stale directories under <paramref name="root"/> (full paths, sorted); an absent root
    /// has none. A <c>step-N</c> counts as this job's when its <c>state.json</c> holds a config whose
    /// <c>name</c> is <paramref name="jobName"/>.
    /// </summary>
    public static IReadOnlyList<string> ListStale(string root, IReadOnlyCollection<CheckpointRecord> committed, string jobName)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root))
        {
            return [];
        }
        var names = Directory.EnumerateDirectories(root).Select(path => Path.GetFileName(path));
        return SelectStale(root, names, committed, directory => JobOf(directory) == jobName);
    }

    /// <summary>The job named in a checkpoint directory's <c>state.json</c>, or null when it cannot be read.</summary>
    public static string? JobOf(string directory)
    {
        try
        {
            var state = CheckpointStateFile.Decode(File.ReadAllBytes(Path.Combine(directory, CheckpointLayout.StateFile)));
            using var config = System.Text.Json.JsonDocument.Parse(state.ConfigJson);
            return config.RootElement.TryGetProperty("name", out var name) ? name.GetString() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// The pure rule behind <see cref="ListStale"/>: which of <paramref name="directoryNames"/> (names
    /// of directories directly under <paramref name="root"/>) are stale given the journal's
    /// <paramref name="committed"/> checkpoints; <paramref name="ownedByThisJob"/> (given the full
    /// path) says whether an uncommitted <c>step-N</c> was written by this job.
    /// </summary>
    /// <remarks>
    /// Names this layout did not make are left alone. A final <c>step-N</c> is kept when its path is
    /// committed or when its step is: a root that was moved or reached through another path still
    /// holds the committed checkpoint, and deleting it would lose the run.
    /// </remarks>
    public static IReadOnlyList<string> SelectStale(string root, IEnumerable<string> directoryNames, IReadOnlyCollection<CheckpointRecord> committed,
        Func<string, bool> ownedByThisJob)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(directoryNames);
        ArgumentNullException.ThrowIfNull(committed);
        ArgumentNullException.ThrowIfNull(ownedByThisJob);
        root = Path.GetFullPath(root);
        var committedPaths = committed.Select(record => Normalize(record.Directory)).ToHashSet(StringComparer.Ordinal);
        var committedSteps = committed.Select(record => record.Step).ToHashSet();
        var stale = new List<string>();
        foreach (var name in directoryNames)
        {
            if (!CheckpointLayout.TryParse(name, out var step, out var suffix))
            {
                continue;
            }
            var path = Path.Combine(root, name);
            if (suffix.Length > 0)
            {
                stale.Add(path);     // never renamed, or half removed: nothing refers to it
                continue;
            }
            var isCommitted = committedSteps.Contains(step) || committedPaths.Contains(Normalize(path));
            if (!isCommitted && ownedByThisJob(path))
            {
                stale.Add(path);
            }
        }
        stale.Sort(StringComparer.Ordinal);
        return stale;
    }

    private static string Normalize(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
}
