using GppfActors.ClusterConfig.Workloads;
using GppfActors.Model.Network;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Training;

namespace GppfActors.Host.Evaluation;

/// <summary>
/// A task's metrics on a whole split, along its arg-max path: what <c>gppf eval</c> reports, where
/// the in-training evaluation stops after <c>eval.batches</c> batches to keep steps flowing.
/// </summary>
internal static class SplitEvaluation
{
    /// <summary>
    /// Evaluates <paramref name="task"/> on every sample of <paramref name="split"/> under
    /// <paramref name="dataRoot"/> in batches of <paramref name="batchSize"/>, resized as in-training
    /// evaluation does; decoding of the next batch overlaps the current forward. Along
    /// <paramref name="path"/> (one unit per lego layer) when given, else the task's arg-max path.
    /// </summary>
    public static TaskSplitResult Run(GppfNetwork network, TaskDefinition task, string dataRoot, string split, int batchSize, IReadOnlyList<int>? path = null)
    {
        var dataset = TaskDatasets.Open(task, dataRoot, split);
        if (dataset.Count == 0)
        {
            throw new ArgumentException($"{dataset.Name} has no samples");
        }
        using var loader = new PrefetchingLoader(dataset, TaskDatasets.Evaluation(task), new LoaderOptions { Seed = 0 }.Validate());
        var route = path ?? network.Controller(task.Name).ArgMaxPath();
        var metrics = TaskEvaluation.Run(network, task, Batches(loader, dataset.Count, batchSize), RouteRequest.Path(route));
        return new TaskSplitResult(task.Name, task.Family, split, dataset.Count, route, metrics);
    }

    private static IEnumerable<TaskBatch> Batches(PrefetchingLoader loader, int count, int batchSize)
    {
        int numBatches = (count + batchSize - 1) / batchSize;
        for (int b = 0; b < numBatches; b++)
        {
            if (b + 1 < numBatches)
            {
                loader.Prefetch(b + 1, Indices(b + 1, count, batchSize));
            }
            using var batch = loader.Get(b, Indices(b, count, batchSize));
            yield return batch;
        }
    }

    private static long[] Indices(int batch, int count, int batchSize) =>
        Enumerable.Range(batch * batchSize, Math.Min(batchSize, count - batch * batchSize)).Select(i => (long)i).ToArray();
}
