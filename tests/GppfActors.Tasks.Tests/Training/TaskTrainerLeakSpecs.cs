using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Tests.Support;
using GppfActors.Tasks.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Training;

/// <summary>A device steps millions of times: the train step and evaluation must leave no tensor behind.</summary>
public class TaskTrainerLeakSpecs
{
    public static TheoryData<TaskFamily> Families => [.. TaskFamilies.All];

    [Theory]
    [MemberData(nameof(Families))]
    public void Should_keep_the_live_tensor_count_flat_when_stepping_ten_times(TaskFamily family)
    {
        var task = TinyData.Task(family, batchSize: 4) with { Classification = new ClassificationOptions() };  // mixing on
        using var training = new TinyTraining(task);
        using var batch = TinyData.Batch(task, 1, 0);
        // Two warm-up steps: the optimizer creates its state tensors on the first.
        training.Step(0);
        training.Step(1);
        // Statistics are per thread and xunit runs a synchronous test on one thread.
        var counts = new List<long>();
        for (int step = 2; step < 12; step++)
        {
            TaskTrainer.TrainStep(training.Replica, training.Group, training.Plan(step), batch, task);
            TaskEvaluation.Run(training.Replica.Network, task, [batch]);
            counts.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }

        Assert.All(counts, count => Assert.Equal(counts[0], count));
        // The probe must see a leak, or a flat count would prove nothing.
        using var leaked = zeros(1);
        Assert.Equal(counts[0] + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
