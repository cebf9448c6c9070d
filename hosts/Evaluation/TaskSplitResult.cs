using GppfActors.Tasks.Definitions;

namespace GppfActors.Host.Evaluation;

/// <summary>One task's metrics on a whole split: how many samples, along which path (arg-max unit per lego layer).</summary>
internal sealed record TaskSplitResult(
    string Task,
    TaskFamily Family,
    string Split,
    int NumSamples,
    IReadOnlyList<int> Path,
    IReadOnlyDictionary<string, double> Metrics);
