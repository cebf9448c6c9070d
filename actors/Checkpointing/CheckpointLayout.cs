using System.Globalization;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// The names of checkpoint directories and of the files inside them, kept in one place so the
/// writer, the reader, the journal's clean-up and startup hygiene always agree.
/// </summary>
public static class CheckpointLayout
{
    /// <summary>Every checkpoint directory name starts with this, followed by the zero-padded step.</summary>
    public const string DirectoryPrefix = "step-";

    /// <summary>A directory still being written; it becomes a checkpoint only by being renamed.</summary>
    public const string TemporarySuffix = ".tmp";

    /// <summary>A directory being removed by retention; renamed first so it vanishes from view atomically.</summary>
    public const string DeletingSuffix = ".deleting";

    /// <summary>The model's state dict, PyTorch keys, loadable by PyTorch's safetensors.</summary>
    public const string ModelFile = "model.safetensors";

    /// <summary>The optimizer's state dict, PyTorch-style keys.</summary>
    public const string OptimizerFile = "optimizer.safetensors";

    /// <summary>Step, epoch, schedule, sampler, resolved config and metadata as one JSON document.</summary>
    public const string StateFile = "state.json";

    /// <summary>Every other file with its SHA-256 and size; written last, so its presence means the files are complete.</summary>
    public const string ManifestFile = "manifest.json";

    // Eight digits keep `ls` and ordinal sorts in step order up to 100 million steps; larger steps
    // still get a valid, parseable name, only the sort order across the 10^8 boundary breaks.
    private const string StepFormat = "D8";

    /// <summary>The files a complete checkpoint must list in its manifest.</summary>
    public static IReadOnlyList<string> RequiredFiles { get; } = [ModelFile, OptimizerFile, StateFile];

    /// <summary>The final directory name of step <paramref name="step"/>, e.g. <c>step-00000120</c>.</summary>
    public static string DirectoryName(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return DirectoryPrefix + step.ToString(StepFormat, CultureInfo.InvariantCulture);
    }

    /// <summary>The name of the directory step <paramref name="step"/> is written to before its rename.</summary>
    public static string TemporaryDirectoryName(long step) => DirectoryName(step) + TemporarySuffix;

    /// <summary>
    /// Parses a directory name made by this layout: <c>step-N</c>, <c>step-N.tmp</c> or
    /// <c>step-N.deleting</c>. Anything else (a journal file, a user's notes) is not ours and is
    /// reported as not parsed, so clean-up code leaves it alone.
    /// </summary>
    public static bool TryParse(string name, out long step, out string suffix)
    {
        ArgumentNullException.ThrowIfNull(name);
        step = -1;
        suffix = "";
        if (!name.StartsWith(DirectoryPrefix, StringComparison.Ordinal))
        {
            return false;
        }
        var rest = name[DirectoryPrefix.Length..];
        foreach (var candidate in (ReadOnlySpan<string>)[TemporarySuffix, DeletingSuffix])
        {
            if (rest.EndsWith(candidate, StringComparison.Ordinal))
            {
                suffix = candidate;
                rest = rest[..^candidate.Length];
                break;
            }
        }
        // Digits only: long.Parse would also take signs and spaces, which this layout never writes.
        if (rest.Length == 0 || !rest.All(char.IsAsciiDigit))
        {
            return false;
        }
        return long.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out step);
    }
}
