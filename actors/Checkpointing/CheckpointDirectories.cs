namespace GppfActors.Actors.Checkpointing;

/// <summary>Removes checkpoint directories for retention and startup hygiene, in a way a crash cannot leave half visible.</summary>
public static class CheckpointDirectories
{
    /// <summary>
    /// Removes <paramref name="directory"/> and everything in it; a directory that is already gone
    /// counts as removed, so a retried removal succeeds.
    /// </summary>
    /// <remarks>
    /// The directory is first renamed to <c>*.deleting</c> (atomic), then deleted: a crash part way
    /// leaves a <c>.deleting</c> directory that hygiene removes, never a half-deleted <c>step-N</c> that
    /// a loader would have to call corrupt.
    /// </remarks>
    public static void Remove(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var fullPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (fullPath.EndsWith(CheckpointLayout.DeletingSuffix, StringComparison.Ordinal))
        {
            DeleteIfExists(fullPath);
            return;
        }
        var doomed = fullPath + CheckpointLayout.DeletingSuffix;
        // Left by a removal that crashed after its rename.
        DeleteIfExists(doomed);
        if (!Directory.Exists(fullPath))
        {
            return;
        }
        Directory.Move(fullPath, doomed);
        Directory.Delete(doomed, recursive: true);
    }

    private static void DeleteIfExists(string directory)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
