using GppfActors.Collectives;
using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using GppfActors.Model.Training;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Norm;

/// <summary>
/// Whole SIMT training steps (cross-task SyncBN, task average, optimizer) through
/// <see cref="Replica.TrainStep"/> with the SyncBN statistics kept on the device, as a GPU keeps them:
/// the replicas stay byte-identical to each other, and the run follows the host path's run of the
/// same steps within float32 rounding.
/// </summary>
public class DevicePathTrainingSpecs
{
    private const int World = 3;
    private const int Steps = 4;

    [Theory]
    [InlineData(RoutingMode.Soft)]
    [InlineData(RoutingMode.Hard)]
    public void Should_keep_replicas_identical_and_follow_the_host_path_when_statistics_stay_on_the_device(RoutingMode mode)
    {
        var host = Train(mode, onDevice: false);
        var device = Train(mode, onDevice: true);

        for (int rank = 1; rank < World; rank++)
        {
            StateAssert.BytesEqual(device[0], device[rank], $"device path: rank {rank} against rank 0");
        }
        Assert.Contains(device[0].Keys, k => k.EndsWith("running_var", StringComparison.Ordinal));
        double worst = 0;
        string worstKey = "";
        foreach (var (key, expected) in host[0])
        {
            if (!expected.is_floating_point())
            {
                Assert.True(expected.equal(device[0][key]).item<bool>(), $"{key} differs");
                continue;
            }
            double scale = expected.abs().max().item<float>() + 1e-6;
            double gap = (device[0][key] - expected).abs().max().item<float>() / scale;
            (worst, worstKey) = gap > worst ? (gap, key) : (worst, worstKey);
        }
        // Both paths round each step's statistics to float32; four steps keep them within 1e-4 of
        // each other, where a wrong statistic or gradient moves the weights by percents.
        Assert.True(worst < 1e-4, $"device path against host path: {worstKey} differs by {worst:E2} (relative to its largest value)");
        StateAssert.DisposeAll([.. host, .. device]);
    }

    private static Dictionary<string, Tensor>[] Train(RoutingMode mode, bool onDevice) =>
        Devices.Run(World, (rank, group) =>
        {
            using var replica = new Replica(
                new GppfNetwork(BackboneConfig.Tiny(2), [Nets.Classifier(ToyTasks.Colour.Name, ToyTasks.Colour.Classes), Nets.Classifier(ToyTasks.Stripes.Name, ToyTasks.Stripes.Classes)], seed: 100 + rank),
                new OptimizerConfig(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 1e-4));
            replica.Network.Sync.ForceDeviceStatistics = onDevice;
            replica.AlignFrom(group);
            for (long step = 0; step < Steps; step++)
            {
                Step(replica, group, rank, step, mode);
            }
            return StateAssert.Snapshot(replica.Network.state_dict());
        });

    private static void Step(Replica replica, ICollectiveGroup group, int rank, long step, RoutingMode mode)
    {
        string Task(int r) => (step + r) % 3 == 0 ? ToyTasks.Stripes.Name : ToyTasks.Colour.Name;
        var plan = new StepPlan(step, Task(rank), Enumerable.Range(0, World).Select(Task).Distinct().ToArray(), mode, 1.0, 0.05, 2024);
        replica.TrainStep(group, plan, (net, request) =>
        {
            var (x, y) = ToyTasks.Batch(plan.Task, plan.Step, rank);
            return nn.functional.cross_entropy(net.Forward(plan.Task, x, request), y);
        });
    }
}
