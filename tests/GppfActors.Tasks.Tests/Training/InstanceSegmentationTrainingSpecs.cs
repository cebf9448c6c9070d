using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Synthetic;
using GppfActors.Tasks.Tests.Support;
using GppfActors.Tasks.Training;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Tasks.Tests.Training;

/// <summary>
/// Instance segmentation trains through the real pipeline: the synthetic set's COCO JSON with polygon masks,
/// masks decoded per sample and warped with the boxes by the augmentation, the prefetching loader, the train
/// step, and held-out COCO mask AP.
/// </summary>
public sealed class InstanceSegmentationTrainingSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public void Should_lower_the_loss_and_reach_a_mask_AP_above_zero_when_training_on_the_synthetic_set()
    {
        var manifest = SyntheticDatasetWriter.Write(folder.Path, new SynthOptions { Seed = 11, NumTrain = 96, NumVal = 32, Tasks = [SynthTask.Detection] });
        var task = new TaskDefinition("inst", TaskFamily.InstanceSegmentation, "synthetic", 5, new InputSize(64, 64), 4)
        {
            Detection = new DetectionOptions(FpnChannels: 32, NumTowerConvs: 1),
            InstanceSegmentation = new InstanceSegmentationOptions(MaskChannels: 4, BranchChannels: 16, NumBranchConvs: 1, DynamicChannels: 4, MaxInstancesPerImage: 32),
        };
        using var training = new TinyTraining(task, learningRate: 3e-3);
        var labels = LabelRange.For(task);
        using var val = new PrefetchingLoader(SynthDatasets.Open(folder.Path, SynthTask.Detection, "val", labels, instanceMasks: true),
            AugmentationOptions.Evaluation(64, 64), new LoaderOptions { Seed = 3, NumWorkers = 1 });
        var before = TaskEvaluation.Run(training.Replica.Network, task, ValBatches(val, task.BatchSize));
        using var loader = new PrefetchingLoader(SynthDatasets.Open(folder.Path, SynthTask.Detection, "train", labels, instanceMasks: true),
            SynthDatasets.TrainAugmentation(SynthTask.Detection, manifest), new LoaderOptions { Seed = 3, NumWorkers = 1 });
        int count = loader.Dataset.Count;
        var losses = new List<double>();
        var maskLosses = new List<double>();
        const int steps = 60;
        for (long step = 0; step < steps; step++)
        {
            var indices = Enumerable.Range(0, task.BatchSize).Select(i => (step * task.BatchSize + i) % count).ToArray();
            using var batch = loader.Get(step, indices);
            var result = TaskTrainer.TrainStep(training.Replica, training.Group, training.Plan(step), batch, task);
            Assert.True(double.IsFinite(result.Loss), $"step {step}: loss {result.Loss}");
            losses.Add(result.Loss);
            maskLosses.Add(result.Metrics["loss_mask"]);
        }
        var after = TaskEvaluation.Run(training.Replica.Network, task, ValBatches(val, task.BatchSize));

        double first = losses.Take(10).Average(), last = losses.TakeLast(10).Average();
        double firstMask = maskLosses.Take(10).Average(), lastMask = maskLosses.TakeLast(10).Average();
        output.WriteLine($"loss {first:0.###} -> {last:0.###}, mask loss {firstMask:0.###} -> {lastMask:0.###} over {steps} steps; " +
            $"held-out {string.Join(", ", after.Select(m => $"{m.Key} {before[m.Key]:0.####} -> {m.Value:0.####}"))}");
        Assert.True(last < first, $"loss did not fall ({first:0.###} -> {last:0.###})");
        Assert.True(lastMask < firstMask, $"mask loss did not fall ({firstMask:0.###} -> {lastMask:0.###})");
        // Untrained, every class score sits at the head's prior (0.01), below the 0.05 score threshold: no instance, AP 0.
        Assert.Equal(0, before["AP"]);
        Assert.True(after["AP"] > 0, $"mask AP {after["AP"]:0.####} (AP50 {after["AP50"]:0.####})");
    }

    private static IEnumerable<TaskBatch> ValBatches(PrefetchingLoader loader, int batchSize)
    {
        for (int start = 0, b = 0; start < loader.Dataset.Count; start += batchSize, b++)
        {
            using var batch = loader.Get(b, Enumerable.Range(start, Math.Min(batchSize, loader.Dataset.Count - start)).Select(i => (long)i).ToArray());
            yield return batch;
        }
    }
}
