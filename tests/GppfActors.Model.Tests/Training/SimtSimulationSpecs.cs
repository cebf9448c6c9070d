using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using GppfActors.Model.Schedules;
using GppfActors.Model.Training;
using GppfActors.Testing;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Training;

/// <summary>SIMT on 4 virtual devices: 2 toy tasks of different input sizes, cross-task SyncBN, task-average fusion.</summary>
public class SimtSimulationSpecs(ITestOutputHelper output)
{
    private const int Devices4 = 4;

    private static string TaskFor(long step, int rank) =>
        (step + rank) % 3 == 0 ? ToyTasks.Stripes.Name : ToyTasks.Colour.Name;

    private sealed record Run(double[][] Losses, Dictionary<string, Tensor>[] States);

    private static Run Simulate(RoutingMode mode, int steps)
    {
        var temperature = new TemperatureSchedule(5.0, 0.5, steps);
        var losses = Enumerable.Range(0, Devices4).Select(_ => new double[steps]).ToArray();
        var states = Devices.Run(Devices4, (rank, group) =>
        {
            // Replicas start different on purpose (seed = rank) and are aligned from rank 0.
            using var replica = new Replica(Nets.Tiny(2, seed: 100 + rank, ToyTasks.Colour, ToyTasks.Stripes),
                new OptimizerConfig(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 1e-4));
            replica.AlignFrom(group);
            for (long step = 0; step < steps; step++)
            {
                string task = TaskFor(step, rank);
                var active = Enumerable.Range(0, Devices4).Select(r => TaskFor(step, r)).Distinct().ToArray();
                var plan = new StepPlan(step, task, active, mode, temperature.At(step), 0.05, 2024);
                var result = replica.TrainStep(group, plan, (net, request) =>
                {
                    var (x, y) = ToyTasks.Batch(task, step, rank);
                    return nn.functional.cross_entropy(net.Forward(task, x, request), y);
                });
                Assert.False(double.IsNaN(result.Loss), $"NaN loss at step {step} on rank {rank}");
                losses[rank][step] = result.Loss;
            }
            return replica.Network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());
        }, timeoutSeconds: 60);
        return new Run(losses, states);
    }

    private static double MeanLoss(Run run, string task, long from, long to)
    {
        var values = new List<double>();
        for (long step = from; step < to; step++)
        {
            for (int rank = 0; rank < Devices4; rank++)
            {
                if (TaskFor(step, rank) == task)
                {
                    values.Add(run.Losses[rank][step]);
                }
            }
        }
        return values.Average();
    }

    [Theory]
    [InlineData(RoutingMode.Soft)]
    [InlineData(RoutingMode.Hard)]
    public void Should_lower_both_losses_and_keep_replicas_bit_identical_when_training_50_steps(RoutingMode mode)
    {
        var run = Simulate(mode, 50);

        foreach (var task in new[] { ToyTasks.Colour.Name, ToyTasks.Stripes.Name })
        {
            double first = MeanLoss(run, task, 0, 10);
            double last = MeanLoss(run, task, 40, 50);
            output.WriteLine($"{mode} {task}: mean loss steps 0-9 {first:0.###}, steps 40-49 {last:0.###}");
            Assert.True(last < 0.6 * first, $"{mode}: {task} loss fell only from {first:0.###} to {last:0.###}");
        }
        for (int rank = 1; rank < Devices4; rank++)
        {
            Assert.Equal(run.States[0].Keys, run.States[rank].Keys);
            foreach (var (key, value) in run.States[0])
            {
                TensorAssert.Equal(run.States[rank][key], value, $"{mode}: {key} on rank {rank}");
            }
        }
    }

    [Fact]
    public void Should_keep_the_live_tensor_count_flat_when_training_20_steps()
    {
        var counts = Devices.Run(2, (rank, group) =>
        {
            using var replica = new Replica(Nets.Tiny(2, seed: 5, ToyTasks.Colour, ToyTasks.Stripes),
                new OptimizerConfig(OptimizerKind.Sgd));
            replica.AlignFrom(group);
            var live = new long[20];
            for (long step = 0; step < 20; step++)
            {
                string task = rank == 0 ? ToyTasks.Colour.Name : ToyTasks.Stripes.Name;
                var plan = new StepPlan(step, task, [ToyTasks.Colour.Name, ToyTasks.Stripes.Name], RoutingMode.Soft, 1.0, 0.01, 1);
                replica.TrainStep(group, plan, (net, request) =>
                {
                    var (x, y) = ToyTasks.Batch(task, step, rank);
                    return nn.functional.cross_entropy(net.Forward(task, x, request), y);
                });
                live[step] = DisposeScopeManagerStatistics();
            }
            return live;
        });
        foreach (var live in counts)
        {
            // After the first steps create the optimizer's state, nothing may grow.
            Assert.Equal(live[2], live[^1]);
        }
    }

    private static long DisposeScopeManagerStatistics() =>
        TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
}
