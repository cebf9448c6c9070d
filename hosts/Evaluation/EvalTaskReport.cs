using GppfActors.Tasks.Definitions;

namespace GppfActors.Host.Evaluation;

/// <summary>One task in <see cref="EvalReport"/>: family, samples evaluated, the path as a string of unit indices (one per lego layer), metrics.</summary>
internal sealed record EvalTaskReport(TaskFamily Family, int NumSamples, string Path, IReadOnlyDictionary<string, double> Metrics);
