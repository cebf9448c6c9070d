using GppfActors.Model.Precision;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Tests.Support;
using GppfActors.Tasks.Training;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Tasks.Tests.Training;

/// <summary>Every family trains on tiny data with real signal through Replica.TrainStep, and its loss falls.</summary>
public class TaskTrainerSpecs(ITestOutputHelper output)
{
    public static TheoryData<TaskFamily> Families => [.. TaskFamilies.All];

    [Theory]
    [MemberData(nameof(Families))]
    public void Should_lower_the_loss_without_nan_when_training_twenty_steps(TaskFamily family)
    {
        using var training = new TinyTraining(TinyData.Task(family));
        var losses = new List<double>();
        for (int step = 0; step < 20; step++)
        {
            var result = training.Step(step);
            Assert.True(double.IsFinite(result.Loss), $"step {step}: loss {result.Loss}");
            Assert.All(result.Metrics, m => Assert.True(double.IsFinite(m.Value), $"step {step}: {m.Key} = {m.Value}"));
            losses.Add(result.Loss);
        }
        output.WriteLine($"{family}: {string.Join(" ", losses.Select(l => l.ToString("F4")))}");
        double first = losses.Take(3).Average(), last = losses.TakeLast(3).Average();
        Assert.True(last < 0.8 * first, $"{family}: mean loss of the first 3 steps {first:F4}, of the last 3 {last:F4}");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Should_follow_the_fp32_step_and_lower_the_loss_when_training_in_bf16(TaskFamily family)
    {
        using var fp32 = new TinyTraining(TinyData.Task(family));
        using var bf16 = new TinyTraining(TinyData.Task(family), precision: ComputePrecision.Bf16);
        double reference = fp32.Step(0).Loss;
        var losses = new List<double>();
        for (int step = 0; step < 20; step++)
        {
            var result = bf16.Step(step);
            Assert.True(double.IsFinite(result.Loss), $"step {step}: loss {result.Loss}");
            losses.Add(result.Loss);
        }
        output.WriteLine($"{family} bf16: {string.Join(" ", losses.Select(l => l.ToString("F4")))} (fp32 step 0: {reference:F4})");
        // Same weights, same batch: the heads' and the backbone's products in bf16 move the loss by
        // a rounding error, not more.
        Assert.InRange(Math.Abs(losses[0] - reference) / reference, 0, 0.05);
        Assert.NotEqual(reference, losses[0]);
        double first = losses.Take(3).Average(), last = losses.TakeLast(3).Average();
        Assert.True(last < 0.8 * first, $"{family}: mean loss of the first 3 bf16 steps {first:F4}, of the last 3 {last:F4}");
        Assert.All(bf16.Replica.Network.parameters(), p => Assert.Equal(TorchSharp.torch.ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void Should_mix_and_replay_exactly_when_two_replicas_step_with_the_same_seed_step_and_rank()
    {
        var task = TinyData.Task(TaskFamily.Classification) with { Classification = new ClassificationOptions() };
        using var first = new TinyTraining(task);
        using var second = new TinyTraining(task);

        for (int step = 0; step < 3; step++)
        {
            var a = first.Step(step);
            var b = second.Step(step);

            Assert.Equal(a.Loss, b.Loss);
            Assert.Equal(a.Metrics["mix_lambda"], b.Metrics["mix_lambda"]);
            Assert.InRange(a.Metrics["mix_lambda"], 0, 1);
        }
    }

    [Fact]
    public void Should_scale_the_optimised_loss_by_the_task_loss_weight()
    {
        var task = TinyData.Task(TaskFamily.Depth) with { LossWeight = 0.1 };
        using var training = new TinyTraining(task);

        var result = training.Step(0);

        Assert.Equal(0.1 * result.Metrics["loss_silog"], result.Loss, 5);
        Assert.True(result.Replica.NumParametersUpdated > 0);
    }

    [Fact]
    public void Should_refuse_a_plan_for_another_task()
    {
        using var training = new TinyTraining(TinyData.Task(TaskFamily.Classification));
        using var batch = TinyData.Batch(training.Task, 1, 0);

        var error = Assert.Throws<ArgumentException>(() =>
            TaskTrainer.TrainStep(training.Replica, training.Group, training.Plan(0) with { Task = "other" }, batch, training.Task));
        Assert.Contains("'other'", error.Message);
    }
}
