namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// The named moments at which crash tests kill the process, so each test can name the exact
/// window of the commit protocol it checks.
/// </summary>
public static class CrashPoints
{
    /// <summary>A checkpoint file is half written (its first half is on disk, its second is not).</summary>
    public const string MidFileWrite = "mid-file-write";

    /// <summary>All files are written and fsynced; no manifest yet.</summary>
    public const string AfterFiles = "after-files";

    /// <summary>The manifest is written and fsynced; the directory still has its <c>.tmp</c> name.</summary>
    public const string AfterManifest = "after-manifest";

    /// <summary>The directory has its final name; the journal has not heard of it.</summary>
    public const string AfterRename = "after-rename";

    /// <summary>The journal has persisted the commit; nothing after it (acknowledgement, clean-up) has run.</summary>
    public const string AfterJournal = "after-journal";

    /// <summary>Retention removed a directory but has not journaled the deletion.</summary>
    public const string DuringCleanup = "during-cleanup";

    /// <summary>Every point, so a parser can refuse a misspelt one instead of never firing.</summary>
    public static IReadOnlyList<string> All { get; } = [MidFileWrite, AfterFiles, AfterManifest, AfterRename, AfterJournal, DuringCleanup];
}
