namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Finds what crashes left in a checkpoint root, for removal at startup: <c>.tmp</c> directories
/// never renamed, <c>step-N</c> directories renamed but never journaled, and <c>.deleting</c>
/// directories from an interrupted retention. Committed checkpoints are never listed.
/// </summary>
public static class CheckpointHygiene
{
    /// <summary>Lists the stale directories under <paramref name="root"/> (full paths, sorted); an absent root has none.</summary>
    public static IReadOnlyList<string> ListStale(string root, IReadOnlyCollection<CheckpointRecord> committed)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root))
        {
            return [];
        }
        var names = Directory.EnumerateDirectories(root).Select(path => Path.GetFileName(path));
        return SelectStale(root, names, committed);
    }

    /// <summary>
    /// The pure rule behind <see cref="ListStale"/>: which of <paramref name="directoryNames"/> (names
    /// of directories directly under <paramref name="root"/>) are stale given the journal's
    /// <paramref name="committed"/> checkpoints.
    /// </summary>
    /// <remarks>
    /// Names this layout did not make are left alone. A final <c>step-N</c> is kept when its path is
    /// committed or when its step is: a root that was moved or reached through another path still
    /// holds the committed checkpoint, and deleting it would lose the run.
    /// </remarks>
    public static IReadOnlyList<string> SelectStale(string root, IEnumerable<string> directoryNames, IReadOnlyCollection<CheckpointRecord> committed)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(directoryNames);
        ArgumentNullException.ThrowIfNull(committed);
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
            var isCommitted = suffix.Length == 0 && (committedSteps.Contains(step) || committedPaths.Contains(Normalize(path)));
            if (!isCommitted)
            {
                stale.Add(path);
            }
        }
        stale.Sort(StringComparer.Ordinal);
        return stale;
    }

    private static string Normalize(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
}
