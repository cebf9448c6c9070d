using System.Diagnostics;
using GppfActors.Model.Backbone;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Synthetic;
using GppfActors.Tasks.Tests.Support;
using GppfActors.Tasks.Training;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Tasks.Tests.Training;

/// <summary>
/// The small Swin backbone (preset swin_small) trains through the real pipeline on the synthetic set:
/// a classification task (32 px) and a dense one (detection, 64 px, FCOS over the four stages).
/// </summary>
public sealed class SwinTrainingSpecs(SmallSyntheticSet data, ITestOutputHelper output) : IClassFixture<SmallSyntheticSet>
{
    [Theory]
    [InlineData(SynthTask.Classification)]
    [InlineData(SynthTask.Detection)]
    public void Should_lower_the_loss_when_the_small_swin_trains_on_the_synthetic_set(SynthTask synthTask)
    {
        var task = synthTask == SynthTask.Classification
            ? new TaskDefinition("cls", TaskFamily.Classification, "synthetic", 5, new InputSize(32, 32), 16) { Classification = ClassificationOptions.NoMixing }
            : new TaskDefinition("det", TaskFamily.Detection, "synthetic", 5, new InputSize(64, 64), 4) { Detection = new DetectionOptions(FpnChannels: 32, NumTowerConvs: 1) };
        using var training = new TinyTraining(task, learningRate: 1e-3, backbone: BackboneConfig.SwinSmall(2));
        var labels = task.NumClasses > 0 ? LabelRange.For(task) : null;
        using var loader = new PrefetchingLoader(SynthDatasets.Open(data.Root, synthTask, "train", labels),
            SynthDatasets.TrainAugmentation(synthTask, data.Manifest), new LoaderOptions { Seed = 3, NumWorkers = 1 });
        int count = loader.Dataset.Count;
        var losses = new List<double>();
        const int steps = 40;
        var clock = Stopwatch.StartNew();
        for (long step = 0; step < steps; step++)
        {
            var indices = Enumerable.Range(0, task.BatchSize).Select(i => (step * task.BatchSize + i) % count).ToArray();
            using var batch = loader.Get(step, indices);
            var result = TaskTrainer.TrainStep(training.Replica, training.Group, training.Plan(step), batch, task);
            Assert.False(double.IsNaN(result.Loss) || double.IsInfinity(result.Loss), $"step {step}: loss {result.Loss}");
            losses.Add(result.Loss);
        }
        double first = losses.Take(8).Average();
        double last = losses.TakeLast(8).Average();
        output.WriteLine($"{task.Family} on swin_small x2: loss {first:0.###} -> {last:0.###} over {steps} steps, {clock.Elapsed.TotalMilliseconds / steps:0} ms a step");
        Assert.True(last < first, $"{task.Family}: loss did not fall ({first:0.###} -> {last:0.###})");
    }
}
