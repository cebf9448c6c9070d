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

/// <summary>
/// Every family trains through the real pipeline: synthetic files, prefetching loader, augmentation, train step, and
/// held-out evaluation, which is compared with the same network before training and with the best constant prediction.
/// </summary>
/// <remarks>
/// The margins quoted below were measured with three set-ups (model seed 3 and 7, data seed 11 and 12); the test is
/// deterministic, so they guard against regressions rather than against noise.
/// </remarks>
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
    public void Should_lower_the_loss_and_beat_the_untrained_network_on_held_out_data_when_training_on_the_synthetic_set(SynthTask synthTask)
    {
        var task = Definition(synthTask);
        using var training = new TinyTraining(task, learningRate: synthTask == SynthTask.Depth ? 1e-2 : 3e-3);
        var augmentation = SynthDatasets.TrainAugmentation(synthTask, data.Manifest);
        if (synthTask == SynthTask.Classification)
        {
            augmentation = augmentation with { MinScale = 0.5 };
        }
        var labels = task.NumClasses > 0 ? LabelRange.For(task) : null;
        using var val = new PrefetchingLoader(SynthDatasets.Open(data.Root, synthTask, "val", labels),
            AugmentationOptions.Evaluation(task.InputSize.Width, task.InputSize.Height), new LoaderOptions { Seed = 3, NumWorkers = 1 });
        var before = TaskEvaluation.Run(training.Replica.Network, task, ValBatches(val, task.BatchSize));
        using var loader = new PrefetchingLoader(SynthDatasets.Open(data.Root, synthTask, "train", labels), augmentation, new LoaderOptions { Seed = 3, NumWorkers = 1 });
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

        var after = TaskEvaluation.Run(training.Replica.Network, task, ValBatches(val, task.BatchSize));

        output.WriteLine($"{task.Family}: loss {first:0.###} -> {last:0.###} over {steps} steps; held-out {string.Join(", ", after.Select(m => $"{m.Key} {before[m.Key]:0.####} -> {m.Value:0.####}"))}");
        Assert.True(last < first, $"{task.Family}: loss did not fall ({first:0.###} -> {last:0.###})");
        switch (task.Family)
        {
            case TaskFamily.Depth:
                {
                    // The best constant depth is the most a network that ignores its input can reach; measured:
                    // AbsRel 0.22-0.34 after training against 0.36-0.42 for the constant and 0.46-0.55 before (the
                    // untrained log-depth head predicts about max / 2 = 16 m everywhere).
                    var constant = BestConstantAbsRel(ValBatches(val, task.BatchSize));
                    output.WriteLine($"best constant AbsRel {constant:0.####}");
                    Assert.True(after["AbsRel"] < 0.9 * constant, $"AbsRel {after["AbsRel"]:0.####} is not clearly below the best constant's {constant:0.####}");
                    Assert.True(after["AbsRel"] < before["AbsRel"] - 0.05, $"AbsRel {before["AbsRel"]:0.####} -> {after["AbsRel"]:0.####}");
                    break;
                }
            case TaskFamily.SemanticSegmentation:
                {
                    // 60 steps learn the class prior and no more (measured: pixel accuracy equal to the background's
                    // share, 0.91-0.94, mIoU 0.15-0.16), so the bound is "at least the majority class", which the
                    // untrained network (pixel accuracy 0.01-0.08, mIoU 0.01-0.02) is far from.
                    var majority = MajorityPixelShare(ValBatches(val, task.BatchSize));
                    output.WriteLine($"majority-class pixel share {majority:0.####}");
                    Assert.True(after["pixel_accuracy"] >= majority - 0.01, $"pixel accuracy {after["pixel_accuracy"]:0.####} is below the majority class's share {majority:0.####}");
                    Assert.True(after["mIoU"] > before["mIoU"] + 0.05, $"mIoU {before["mIoU"]:0.####} -> {after["mIoU"]:0.####}");
                    break;
                }
            case TaskFamily.Detection:
                // Untrained, every class score sits at the head's prior (0.01), below the 0.05 score threshold: no
                // detection and AP50 0. Measured after training: AP50 0.004-0.010, so at least one right box.
                Assert.True(after["AP50"] > before["AP50"] + 0.001, $"AP50 {before["AP50"]:0.####} -> {after["AP50"]:0.####}");
                break;
            default:
                // Classification is not held to a held-out bound: in this budget the tiny backbone does not learn the
                // shape classes (measured top-1 0.19-0.31 against a majority-class share of 0.22; the loss ends near
                // ln 5), so any bound it passed with margin would be one an untrained network passes too.
                Assert.Equal(TaskFamily.Classification, task.Family);
                break;
        }
    }

    /// <summary>
    /// The lowest AbsRel any constant prediction c reaches: AbsRel(c) = mean over images of mean |c - g| / g over the
    /// image's measured pixels, a sum of |c - g| with weights 1 / (g * pixels of its image), so the best c is the
    /// weighted median of the depths.
    /// </summary>
    private static double BestConstantAbsRel(IEnumerable<TaskBatch> batches)
    {
        var images = new List<float[]>();
        foreach (var batch in batches)
        {
            for (int i = 0; i < batch.Count; i++)
            {
                images.Add([.. batch.Depth![i].data<float>().ToArray().Where(g => g > 0)]);
            }
        }
        var weighted = images.SelectMany(image => image.Select(g => (Depth: (double)g, Weight: 1.0 / (g * image.Length)))).OrderBy(p => p.Depth).ToArray();
        double half = weighted.Sum(p => p.Weight) / 2, running = 0, best = weighted[^1].Depth;
        foreach (var (depth, weight) in weighted)
        {
            running += weight;
            if (running >= half)
            {
                best = depth;
                break;
            }
        }
        return images.Average(image => image.Average(g => Math.Abs(best - g) / g));
    }

    /// <summary>The share of labelled pixels that belong to the most frequent class: the pixel accuracy of predicting it everywhere.</summary>
    private static double MajorityPixelShare(IEnumerable<TaskBatch> batches)
    {
        var counts = new long[SegmentationOptions.IgnoreIndex];
        foreach (var batch in batches)
        {
            foreach (var label in batch.Masks!.data<long>().ToArray())
            {
                if (label != SegmentationOptions.IgnoreIndex)
                {
                    counts[label]++;
                }
            }
        }
        return (double)counts.Max() / counts.Sum();
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
