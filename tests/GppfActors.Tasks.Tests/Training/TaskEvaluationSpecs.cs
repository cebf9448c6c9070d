using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Tests.Support;
using GppfActors.Tasks.Training;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Tasks.Tests.Training;

/// <summary>Evaluation over batches in eval mode with arg-max routing reports each family's metrics, and training improves them.</summary>
public class TaskEvaluationSpecs(ITestOutputHelper output)
{
    private static readonly Dictionary<TaskFamily, (string[] Keys, string Main, bool HigherIsBetter)> Expected = new()
    {
        [TaskFamily.Classification] = (["top1", "top5"], "top1", true),
        [TaskFamily.Detection] = (["AP", "AP50", "AP75"], "AP50", true),
        [TaskFamily.SemanticSegmentation] = (["mIoU", "pixel_accuracy"], "mIoU", true),
        [TaskFamily.Depth] = (["d1", "d2", "d3", "AbsRel", "SqRel", "RMSE", "RMSElog"], "AbsRel", false),
        [TaskFamily.InstanceSegmentation] = (["AP", "AP50", "AP75", "box_AP", "box_AP50", "box_AP75"], "AP50", true),
    };

    public static TheoryData<TaskFamily> Families => [.. TaskFamilies.All];

    [Theory]
    [MemberData(nameof(Families))]
    public void Should_report_the_family_metrics_and_improve_them_when_trained(TaskFamily family)
    {
        var task = TinyData.Task(family);
        using var training = new TinyTraining(task);
        var batches = Enumerable.Range(0, 2).Select(i => TinyData.Batch(task, 99, i)).ToArray();
        try
        {
            var before = TaskEvaluation.Run(training.Replica.Network, task, batches);
            for (int step = 0; step < 20; step++)
            {
                training.Step(step);
            }
            var after = TaskEvaluation.Run(training.Replica.Network, task, batches);

            var (keys, main, higherIsBetter) = Expected[family];
            output.WriteLine($"{family}: {main} {before[main]:F4} -> {after[main]:F4}");
            Assert.Equal(keys.Order(), after.Keys.Order());
            Assert.All(after.Values, v => Assert.True(double.IsFinite(v)));
            Assert.False(training.Replica.Network.training, "evaluation leaves the network in eval mode");
            Assert.True(higherIsBetter ? after[main] > before[main] : after[main] < before[main],
                $"{family}: {main} went from {before[main]:F4} to {after[main]:F4}");
        }
        finally
        {
            foreach (var b in batches)
            {
                b.Dispose();
            }
        }
    }
}
