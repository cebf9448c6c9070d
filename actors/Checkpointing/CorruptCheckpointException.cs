namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// A checkpoint directory that cannot be trusted: the message names the directory, the file and
/// what is wrong with it, so the loud fallback warning tells an operator exactly what to look at.
/// </summary>
public sealed class CorruptCheckpointException : IOException
{
    /// <summary>Describes <paramref name="file"/> in <paramref name="directory"/> as damaged because of <paramref name="problem"/>.</summary>
    public CorruptCheckpointException(string directory, string file, string problem, Exception? innerException = null)
        : base($"Checkpoint '{directory}' is corrupt: {file}: {problem}", innerException)
    {
        Directory = directory;
        File = file;
        Problem = problem;
    }

    /// <summary>The checkpoint directory.</summary>
    public string Directory { get; }

    /// <summary>The file inside it that is missing or damaged (the directory itself is named ".").</summary>
    public string File { get; }

    /// <summary>What is wrong, e.g. "SHA-256 is ... but the manifest says ...".</summary>
    public string Problem { get; }
}
