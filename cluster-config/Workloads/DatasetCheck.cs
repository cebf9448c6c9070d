using GppfActors.ClusterConfig.Jobs;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Layouts;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>
/// Walks every task's train and val data of a job: opens each split in reporting mode (so every missing file is
/// listed, not only the first), decodes every sample (images, masks, depth maps, label ranges) and collects each
/// problem with the file it concerns. A multi-week run should learn about a broken file before it starts, not
/// on the day a sampler first draws it.
/// </summary>
public static class DatasetCheck
{
    public static readonly string[] Splits = ["train", "val"];

    /// <summary>Checks the job's data; <paramref name="maxSamples"/> limits the samples decoded per split (null: all).</summary>
    public static IReadOnlyList<DatasetSplitReport> Run(JobConfig job, int? maxSamples = null, int workers = 1, Action<DatasetSplitReport>? onSplit = null)
    {
        var reports = new List<DatasetSplitReport>();
        foreach (var task in job.Tasks)
        {
            foreach (var split in Splits)
            {
                var report = CheckSplit(task, job.Data.Root, split, maxSamples, Math.Max(1, workers));
                onSplit?.Invoke(report);
                reports.Add(report);
            }
        }
        return reports;
    }

    private static DatasetSplitReport CheckSplit(TaskDefinition task, string dataRoot, string split, int? maxSamples, int workers)
    {
        var openProblems = new List<string>();
        ITaskDataset dataset;
        try
        {
            dataset = DatasetLayouts.Open(task, dataRoot, split, e => openProblems.Add(e.Message));
        }
        catch (Exception e) when (e is DataFormatException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            return new DatasetSplitReport(task.Name, split, task.Dataset, 0, 0, 0, task.NumClasses, [.. openProblems, e.Message]);
        }
        var count = maxSamples is int limit ? Math.Min(limit, dataset.Count) : dataset.Count;
        var decodeProblems = new string?[count];
        var seen = new HashSet<int>();
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = workers }, i =>
        {
            try
            {
                var labels = Labels(dataset.Decode(i));
                lock (seen)
                {
                    seen.UnionWith(labels);
                }
            }
            catch (Exception e) when (e is DataFormatException or IOException or UnauthorizedAccessException)
            {
                var message = e is DataFormatException ? e.Message : $"{dataset.SourceOf(i)}: {e.Message}";
                decodeProblems[i] = message;
            }
        });
        IReadOnlyList<string> problems = [.. openProblems, .. decodeProblems.OfType<string>()];
        return new DatasetSplitReport(task.Name, split, task.Dataset, dataset.Count, count, seen.Count, task.NumClasses, problems);
    }

    private static IEnumerable<int> Labels(DecodedSample sample)
    {
        if (sample.ClassLabel is int label)
        {
            yield return label;
        }
        foreach (var box in sample.Boxes ?? [])
        {
            yield return box.Label;
        }
        if (sample.Mask is { } mask)
        {
            var present = new bool[256];
            foreach (var v in mask.Labels)
            {
                present[v] = true;
            }
            for (var v = 0; v < LabelMask.Ignore; v++)
            {
                if (present[v])
                {
                    yield return v;
                }
            }
        }
    }
}
