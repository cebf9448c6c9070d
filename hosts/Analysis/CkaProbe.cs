using GppfActors.ClusterConfig.Workloads;
using GppfActors.Model.Analysis;
using GppfActors.Model.Network;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;

namespace GppfActors.Host.Analysis;

/// <summary>
/// Layer x layer linear CKA along a task's path (paper, appendix A): the first batches of the
/// task's held-out split, resized as evaluation does, go through one or two networks, and every
/// pair of lego layers is compared with the minibatch estimator (<see cref="MinibatchCka"/>).
/// With two networks the result also holds each one's own CKA and the cross-model CKA.
/// </summary>
internal static class CkaProbe
{
    /// <summary>
    /// CKA over up to <paramref name="numBatches"/> batches of <paramref name="batchSize"/> examples
    /// of <paramref name="task"/>'s split <paramref name="split"/> under <paramref name="dataRoot"/>:
    /// [L1 + L2, L1 + L2], the layers of <paramref name="first"/> then those of <paramref name="second"/>.
    /// </summary>
    public static CkaResult Run(TaskDefinition task, string dataRoot, string split, int numBatches, int batchSize,
        GppfNetwork first, GppfNetwork? second)
    {
        var dataset = TaskDatasets.Open(task, dataRoot, split);
        int usable = Math.Min(numBatches, dataset.Count / batchSize);
        if (usable < 1)
        {
            throw new ArgumentException($"{dataset.Name} has {dataset.Count} samples, fewer than one probe batch of {batchSize}");
        }
        int numLayers = first.Backbone.NumLayers + (second?.Backbone.NumLayers ?? 0);
        var cka = new MinibatchCka(numLayers, numLayers);
        var options = new LoaderOptions { Seed = 0, NumWorkers = 1 }.Validate();
        using var loader = new PrefetchingLoader(dataset, TaskDatasets.Evaluation(task), options);
        for (int b = 0; b < usable; b++)
        {
            var indices = Enumerable.Range(b * batchSize, batchSize).Select(i => (long)i).ToArray();
            using var batch = loader.Get(b, indices);
            var grams = PathFeatureGrams.Of(first, task.Name, batch.Images).ToList();
            if (second is not null)
            {
                grams.AddRange(PathFeatureGrams.Of(second, task.Name, batch.Images));
            }
            cka.Add(grams, grams);
        }
        return new CkaResult(task.Name, cka.Result(), first.Backbone.NumLayers, usable * batchSize);
    }
}
