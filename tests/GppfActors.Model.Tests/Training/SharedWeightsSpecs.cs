using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using GppfActors.Model.Schedules;
using GppfActors.Model.Training;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Training;

/// <summary>
/// Virtual devices that share one copy of the weights and optimizer state (<see cref="SharedModel"/>)
/// against a replica per device: the same SIMT run must end with the same bytes in every parameter,
/// buffer and optimizer state, and the same loss on every device at every step.
/// </summary>
public class SharedWeightsSpecs
{
    private const int Devices3 = 3;
    private const int RestartAt = 5;

    private static string TaskFor(long step, int rank) =>
        (step + rank) % 3 == 0 ? ToyTasks.Stripes.Name : ToyTasks.Colour.Name;

    private sealed record Outcome(float[][] Losses, Dictionary<string, Tensor> Model, Dictionary<string, Tensor> Optimizer);

    private static OptimizerConfig Optimizer(OptimizerKind kind) =>
        kind == OptimizerKind.AdamW ? new OptimizerConfig(OptimizerKind.AdamW, WeightDecay: 0.05) : new OptimizerConfig(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 1e-4);

    // Devices start from different seeds (a shared device's own initial values are dropped), rank 1
    // is rebuilt at step RestartAt and every device aligns from rank 0, as after a device fault.
    private static Outcome Simulate(bool share, RoutingMode mode, bool syncBatchNorm, OptimizerKind kind, int steps)
    {
        var temperature = new TemperatureSchedule(5.0, 0.5, steps);
        var losses = Enumerable.Range(0, Devices3).Select(_ => new float[steps]).ToArray();
        using var sharedModel = share ? new SharedModel(Nets.Tiny(2, seed: 100, ToyTasks.Colour, ToyTasks.Stripes), Optimizer(kind)) : null;
        Replica Build(int rank, int seed) => sharedModel is null
            ? new Replica(Nets.Tiny(2, seed: seed, ToyTasks.Colour, ToyTasks.Stripes), Optimizer(kind))
            : sharedModel.CreateReplica(() => Nets.Tiny(2, seed: seed, ToyTasks.Colour, ToyTasks.Stripes));

        var states = Devices.Run(Devices3, (rank, group) =>
        {
            var replica = Build(rank, 100 + rank);
            try
            {
                replica.AlignFrom(group);
                for (long step = 0; step < steps; step++)
                {
                    if (step == RestartAt)
                    {
                        if (rank == 1)
                        {
                            replica.Dispose();
                            replica = Build(rank, 700);
                        }
                        replica.AlignFrom(group);
                    }
                    string task = TaskFor(step, rank);
                    var active = Enumerable.Range(0, Devices3).Select(r => TaskFor(step, r)).Distinct().ToArray();
                    var plan = new StepPlan(step, task, active, mode, temperature.At(step), 0.02, 2024) { SyncBatchNorm = syncBatchNorm };
                    var result = replica.TrainStep(group, plan, (net, request) =>
                    {
                        var (x, y) = ToyTasks.Batch(task, step, rank);
                        return nn.functional.cross_entropy(net.Forward(task, x, request), y);
                    });
                    Assert.True(result.Applied, $"step {step} was not applied on rank {rank}");
                    losses[rank][step] = (float)result.Loss;
                }
                return rank == 0 ? (StateAssert.Snapshot(replica.Network.state_dict()), StateAssert.Snapshot(replica.Optimizer.StateDict())) : default;
            }
            finally
            {
                replica.Dispose();
            }
        }, timeoutSeconds: 60);
        return new Outcome(losses, states[0].Item1, states[0].Item2);
    }

    [Theory]
    [InlineData(RoutingMode.Soft, true, OptimizerKind.AdamW)]
    [InlineData(RoutingMode.Hard, true, OptimizerKind.AdamW)]
    [InlineData(RoutingMode.Soft, false, OptimizerKind.Sgd)]
    [InlineData(RoutingMode.Hard, true, OptimizerKind.Sgd)]
    public void Should_end_byte_identical_to_a_replica_per_device_when_devices_share_their_weights(RoutingMode mode, bool syncBatchNorm, OptimizerKind kind)
    {
        const int Steps = 10;
        var replicas = Simulate(share: false, mode, syncBatchNorm, kind, Steps);
        var shared = Simulate(share: true, mode, syncBatchNorm, kind, Steps);
        try
        {
            for (int rank = 0; rank < Devices3; rank++)
            {
                Assert.Equal(replicas.Losses[rank], shared.Losses[rank]);
            }
            // The runs trained: a model that never moved would also be "identical".
            Assert.NotEqual(shared.Losses[0][0], shared.Losses[0][^1]);
            StateAssert.BytesEqual(replicas.Model, shared.Model, "model");
            StateAssert.BytesEqual(replicas.Optimizer, shared.Optimizer, "optimizer");
            Assert.NotEmpty(shared.Optimizer);
        }
        finally
        {
            StateAssert.DisposeAll([replicas.Model, replicas.Optimizer, shared.Model, shared.Optimizer]);
        }
    }

    [Fact]
    public void Should_alias_the_shared_storage_and_keep_gradients_per_device()
    {
        using var sharedModel = new SharedModel(Nets.Tiny(2, seed: 1, ToyTasks.Colour, ToyTasks.Stripes), new OptimizerConfig(OptimizerKind.Sgd));
        using var a = sharedModel.CreateReplica(() => Nets.Tiny(2, seed: 2, ToyTasks.Colour, ToyTasks.Stripes));
        using var b = sharedModel.CreateReplica(() => Nets.Tiny(2, seed: 3, ToyTasks.Colour, ToyTasks.Stripes));
        var master = sharedModel.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var (name, _) = master.First();

        // The devices' own initial values are gone: every parameter and buffer reads the master's.
        StateAssert.BytesEqual(sharedModel.Network.state_dict(), a.Network.state_dict(), "device a");
        StateAssert.BytesEqual(sharedModel.Network.state_dict(), b.Network.state_dict(), "device b");

        // A write through the master is seen by both devices (same storage, not a copy).
        using (no_grad())
        {
            master[name].add_(1.5);
        }
        var onA = a.Network.named_parameters().Single(p => p.name == name).parameter;
        var onB = b.Network.named_parameters().Single(p => p.name == name).parameter;
        TensorAssert.Equal(onA, master[name], "after a write through the master");
        TensorAssert.Equal(onB, master[name], "after a write through the master");

        // Gradients are the device's own.
        onA.sum().backward();
        Assert.NotNull(onA.grad);
        Assert.Null(onB.grad);
        Assert.Null(master[name].grad);
    }

    [Fact]
    public void Should_dispose_the_shared_state_with_the_last_replica_only()
    {
        var sharedModel = new SharedModel(Nets.Tiny(2, seed: 1, ToyTasks.Colour), new OptimizerConfig(OptimizerKind.Sgd));
        var a = sharedModel.CreateReplica(() => Nets.Tiny(2, seed: 1, ToyTasks.Colour));
        var b = sharedModel.CreateReplica(() => Nets.Tiny(2, seed: 1, ToyTasks.Colour));
        Assert.Equal(2, sharedModel.NumAttached);

        a.Dispose();
        a.Dispose();    // twice: still one detach
        Assert.Equal(1, sharedModel.NumAttached);
        Assert.False(sharedModel.IsDisposed);
        // The survivor still reads the weights.
        Assert.True(b.Network.named_parameters().First().parameter.abs().sum().item<float>() > 0);

        b.Dispose();
        Assert.True(sharedModel.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => sharedModel.CreateReplica(() => Nets.Tiny(2, seed: 1, ToyTasks.Colour)));
    }

    [Fact]
    public void Should_refuse_a_device_network_of_another_architecture_and_name_what_differs()
    {
        using var sharedModel = new SharedModel(Nets.Tiny(2, seed: 1, ToyTasks.Colour), new OptimizerConfig(OptimizerKind.Sgd));
        var e = Assert.Throws<ArgumentException>(() => sharedModel.CreateReplica(() => Nets.Tiny(2, seed: 1, ("colour", 7))));
        Assert.Contains("colour", e.Message);
        Assert.Equal(0, sharedModel.NumAttached);
    }

    [Fact]
    public void Should_apply_a_step_once_however_many_devices_reach_it()
    {
        using var sharedModel = new SharedModel(Nets.Tiny(2, seed: 1, ToyTasks.Colour), new OptimizerConfig(OptimizerKind.Sgd));
        int runs = 0;
        var applied = Enumerable.Range(0, 4).AsParallel().Select(_ => sharedModel.ApplyOnce(1, 7, () => Interlocked.Increment(ref runs))).ToArray();
        Assert.Equal(1, runs);
        Assert.Single(applied, a => a);
        // The same step number in a new epoch (a step retried after a fault) is a new step.
        Assert.True(sharedModel.ApplyOnce(2, 7, () => Interlocked.Increment(ref runs)));
        Assert.Equal(2, runs);
    }
}
