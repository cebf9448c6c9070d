namespace GppfActors.ClusterConfig.Workloads;

/// <summary>What <see cref="DatasetCheck"/> found in one split of one task's data.</summary>
/// <param name="Task">Task name.</param>
/// <param name="Split">train or val.</param>
/// <param name="Dataset">The task's <c>dataset</c> setting.</param>
/// <param name="NumSamples">Samples the split's index holds (after samples with missing files were left out).</param>
/// <param name="NumChecked">Samples decoded (all of them unless a limit was given).</param>
/// <param name="ClassesSeen">Distinct labels met in the decoded samples (classification labels, box classes, mask classes; ignore excluded).</param>
/// <param name="NumClasses">The task's num_classes; 0 for depth.</param>
/// <param name="Problems">Every problem, each naming its file (and field or line).</param>
public sealed record DatasetSplitReport(
    string Task, string Split, string Dataset, int NumSamples, int NumChecked, int ClassesSeen, int NumClasses, IReadOnlyList<string> Problems);
