using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Synthetic;
using GppfActors.Tasks.Tests.Support;
using GppfActors.Tasks.Training;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Tasks.Tests.Training;

/// <summary>A small synthetic data set written once (with the real generator and formats) for a test class.</summary>
public sealed class SmallSyntheticSet : IDisposable
{
    public SmallSyntheticSet()
    {
        Root = Path.Combine(Path.GetTempPath(), "gppf-synth-train-" + Guid.NewGuid().ToString("N"));
        Manifest = SyntheticDatasetWriter.Write(Root, new SynthOptions { Seed = 11, NumTrain = 96, NumVal = 32 });
    }

    public string Root { get; }

    public SynthManifest Manifest { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>Every family trains through the real pipeline: synthetic files, prefetching loader, augmentation, train step.</summary>
public sealed class SyntheticSetTrainingSpecs(SmallSyntheticSet data, ITestOutputHelper output) : IClassFixture<SmallSyntheticSet>
{
    private static TaskDefinition Definition(SynthTask task) => task switch
    {
        SynthTask.Classification => new TaskDefinition("cls", TaskFamily.Classification, "synthetic", 5, new InputSize(32, 32), 16)
        {
            Classification = ClassificationOptions.NoMixing with { MinCropScale = 0.5 },
        },
        SynthTask.Detection => new TaskDefinition("det", TaskFamily.Detection, "synthetic", 5, new InputSize(64, 64), 4)
        {
            Detection = new DetectionOptions(FpnChannels: 32, NumTowerConvs: 1),
        },
        SynthTask.Segmentation => new TaskDefinition("seg", TaskFamily.SemanticSegmentation, "synthetic", 6, new InputSize(64, 64), 4)
        {
            Segmentation = new SegmentationOptions(HeadChannels: 32, PoolScales: [1, 2]),
        },
        _ => new TaskDefinition("depth", TaskFamily.Depth, "synthetic", 0, new InputSize(64, 64), 4)
        {
            Depth = new DepthOptions(HeadChannels: 32, MaxDepthMetres: 32),
        },
    };

    [Theory]
    [InlineData(SynthTask.Classification)]
    [InlineData(SynthTask.Detection)]
    [InlineData(SynthTask.Segmentation)]
    [InlineData(SynthTask.Depth)]
    public void Should_lower_the_loss_without_nan_when_training_on_the_synthetic_set(SynthTask synthTask)
    {
        var task = Definition(synthTask);
        using var training = new TinyTraining(task, learningRate: synthTask == SynthTask.Depth ? 1e-2 : 3e-3);
        var augmentation = SynthDatasets.TrainAugmentation(synthTask, data.Manifest);
        if (synthTask == SynthTask.Classification)
        {
            augmentation = augmentation with { MinScale = 0.5 };
        }
        using var loader = new PrefetchingLoader(SynthDatasets.Open(data.Root, synthTask, "train"), augmentation, new LoaderOptions { Seed = 3, NumWorkers = 1 });
        int count = loader.Dataset.Count;
        var losses = new List<double>();
        const int steps = 60;
        for (long step = 0; step < steps; step++)
        {
            var indices = Enumerable.Range(0, task.BatchSize).Select(i => (step * task.BatchSize + i) % count).ToArray();
            using var batch = loader.Get(step, indices);
            var result = TaskTrainer.TrainStep(training.Replica, training.Group, training.Plan(step), batch, task);
            Assert.False(double.IsNaN(result.Loss) || double.IsInfinity(result.Loss), $"step {step}: loss {result.Loss}");
            losses.Add(result.Loss);
        }
        double first = losses.Take(10).Average();
        double last = losses.TakeLast(10).Average();

        using var val = new PrefetchingLoader(SynthDatasets.Open(data.Root, synthTask, "val"),
            AugmentationOptions.Evaluation(task.InputSize.Width, task.InputSize.Height), new LoaderOptions { Seed = 3, NumWorkers = 1 });
        var metrics = TaskEvaluation.Run(training.Replica.Network, task, ValBatches(val, task.BatchSize));
        output.WriteLine($"{task.Family}: loss {first:0.###} -> {last:0.###} over {steps} steps; held-out {string.Join(", ", metrics.Select(m => $"{m.Key} {m.Value:0.###}"))}");
        Assert.True(last < first, $"{task.Family}: loss did not fall ({first:0.###} -> {last:0.###})");
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
