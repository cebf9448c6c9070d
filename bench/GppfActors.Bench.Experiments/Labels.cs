namespace GppfActors.Bench.Experiments;

/// <summary>The names of the configurations and tables, as the report prints them.</summary>
internal static class Labels
{
    public const string PretrainingTable = "pre-training";
    public const string HeldOutTable = "pre-training without classification";
    public const string FinetuningTable = "fine-tuning classification";

    public const string Method = "SIMT + cross-task SyncBN, dynamic N=2 soft (the method)";
    public const string NoSyncBn = "SIMT, no SyncBN (per-device BN)";
    public const string PerBatch = "per-batch sampling (all devices one task), SyncBN";
    public const string Hard = "dynamic N=2 hard";
    public const string Static = "static backbone (N=1)";
    public const string HeldOutMethod = "the method on detection, segmentation, depth";

    public const string FixedFromJoint = "(a) fixed path of shapes_det, joint pre-training";
    public const string Dynamic = "(b) dynamic, joint pre-training";
    public const string Retrain = "(b') retrain: fixed along (b)'s learned path";
    public const string FixedFromSingle = "(c) single-task pre-training (shapes_det alone)";
    public const string Scratch = "(d) scratch (N=1, no pre-training)";

    public static string Alone(string task) => $"{task} alone (N=1)";

    /// <summary>A file-name form of a label: its letters and digits, dashes between words.</summary>
    public static string Slug(string label)
    {
        var words = new string(label.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : ' ').ToArray())
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('-', words.Take(6));
    }
}
