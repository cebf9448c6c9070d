using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Tests.Support;
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
}
