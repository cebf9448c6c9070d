using GppfActors.Collectives;
using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using GppfActors.Model.Tests.Training;
using GppfActors.Model.Training;
using GppfActors.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Backbone;

/// <summary>
/// Activation checkpointing of lego layers: the recomputation in backward must reproduce the plain
/// path bit for bit (gradients of every parameter and of the controller logits, running statistics)
/// and, with SyncBN, issue exactly the collectives the plain path issues.
/// </summary>
public class ActivationCheckpointingSpecs
{
    private const int World = 3;

    public static TheoryData<RoutingMode, string> Settings => new()
    {
        { RoutingMode.Soft, "all" },
        { RoutingMode.Soft, "every_k" },
        { RoutingMode.Hard, "all" },
        { RoutingMode.Hard, "every_k" },
    };

    [Theory]
    [InlineData(RoutingMode.Soft)]
    [InlineData(RoutingMode.Hard)]
    public void Should_give_bit_identical_gradients_and_statistics_when_every_layer_is_checkpointed_without_a_group(RoutingMode mode)
    {
        var plain = GradientsAndState(ActivationCheckpointing.Off, mode);
        var checkpointed = GradientsAndState(ActivationCheckpointing.AllLayers, mode);

        Assert.Contains(plain.Keys, k => k.StartsWith("grad:controllers.", StringComparison.Ordinal));
        Assert.Contains(plain.Keys, k => k.EndsWith("running_var", StringComparison.Ordinal));
        StateAssert.BytesEqual(plain, checkpointed, $"{mode}: checkpointed against plain");
        StateAssert.DisposeAll([plain, checkpointed]);
    }

    [Theory]
    [InlineData(RoutingMode.Soft)]
    [InlineData(RoutingMode.Hard)]
    public void Should_give_bit_identical_gradients_when_the_layers_of_a_swin_backbone_are_checkpointed(RoutingMode mode)
    {
        using (var net = Network(ActivationCheckpointing.AllLayers, 5, BackboneConfig.SwinSmall(2)))
        {
            Assert.All(Enumerable.Range(0, net.Backbone.NumLayers), i => Assert.NotNull(net.Backbone.Layer(i).CheckpointSync));   // the patch embedding and every block
        }
        var plain = GradientsAndState(ActivationCheckpointing.Off, mode, BackboneConfig.SwinSmall(2));
        var checkpointed = GradientsAndState(ActivationCheckpointing.AllLayers, mode, BackboneConfig.SwinSmall(2));

        Assert.Contains(plain.Keys, k => k.StartsWith("grad:controllers.", StringComparison.Ordinal));
        Assert.Contains(plain.Keys, k => k.Contains("relative_position_bias_table", StringComparison.Ordinal) && k.StartsWith("grad:", StringComparison.Ordinal));
        StateAssert.BytesEqual(plain, checkpointed, $"swin {mode}: checkpointed against plain");
        StateAssert.DisposeAll([plain, checkpointed]);
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void Should_match_the_plain_step_bit_for_bit_with_the_same_collectives_when_layers_are_checkpointed_under_syncbn(RoutingMode mode, string setting)
    {
        var plain = RunDevices(ActivationCheckpointing.Off, mode);
        var checkpointed = RunDevices(ActivationCheckpointing.Parse(setting, 2), mode);

        for (int rank = 0; rank < World; rank++)
        {
            Assert.Contains(plain[rank].Operations, op => op.StartsWith("syncbn-forward", StringComparison.Ordinal));
            Assert.Contains(plain[rank].Operations, op => op.StartsWith("syncbn-backward", StringComparison.Ordinal));
            Assert.Equal(plain[rank].Operations, checkpointed[rank].Operations);
            StateAssert.BytesEqual(plain[rank].State, checkpointed[rank].State, $"{mode} {setting}: rank {rank}");
            Assert.Equal(checkpointed[rank].LiveTensors[0], checkpointed[rank].LiveTensors[1]);
        }
        StateAssert.DisposeAll(plain.Concat(checkpointed).Select(d => d.State));
    }

    [Fact]
    public void Should_fail_the_step_with_the_original_exception_and_change_nothing_when_a_device_faults_inside_a_checkpointed_backward()
    {
        var outcomes = Devices.Run(World, (rank, group) =>
        {
            using var replica = new Replica(Network(ActivationCheckpointing.AllLayers, seed: 100 + rank), new OptimizerConfig(OptimizerKind.Sgd, Momentum: 0.9));
            replica.AlignFrom(group);
            StepWith(replica, group, rank, 0, RoutingMode.Soft);
            var before = ToyTraining.FullState(replica);
            Exception? failure = null;
            try
            {
                // The hook runs inside the first SyncBN backward, which runs inside the nested
                // backward of a recomputed layer; peers then fail in their own nested collectives.
                StepWith(replica, group, rank, 1, RoutingMode.Soft, rank == 0 ? p =>
                {
                    if (p == StepPhase.InBackward)
                    {
                        throw new InvalidDataException("rank 0 fails in backward");
                    }
                }
                : null);
            }
            catch (Exception e)
            {
                failure = e;
                group.Abort($"rank {rank} failed: {e.Message}");    // what the device actor does
            }
            var after = ToyTraining.FullState(replica);
            return (Failure: failure, Before: before, After: after);
        });

        Assert.IsType<InvalidDataException>(outcomes[0].Failure);
        for (int rank = 1; rank < World; rank++)
        {
            Assert.IsType<CollectiveAbortedException>(outcomes[rank].Failure);
        }
        foreach (var (_, before, after) in outcomes)
        {
            StateAssert.BytesEqual(before, after, "state after the failed step");
        }
        StateAssert.DisposeAll(outcomes.SelectMany(o => new[] { o.Before, o.After }));
    }

    [Fact]
    public void Should_report_the_key_when_the_checkpointing_setting_is_invalid()
    {
        var e = Assert.Throws<ArgumentException>(() => ActivationCheckpointing.Parse("some", 2));
        Assert.Contains(ActivationCheckpointing.ModeKey, e.Message);
        e = Assert.Throws<ArgumentException>(() => ActivationCheckpointing.Parse("every_k", 0));
        Assert.Contains(ActivationCheckpointing.EveryKey, e.Message);
        var config = BackboneConfig.Tiny(2) with { ActivationCheckpointing = ActivationCheckpointing.EveryKth(-1) };
        e = Assert.Throws<ArgumentException>(() => config.Validate());
        Assert.Contains(ActivationCheckpointing.EveryKey, e.Message);
        Assert.True(ActivationCheckpointing.EveryKth(2).Covers(0));
        Assert.False(ActivationCheckpointing.EveryKth(2).Covers(1));
        Assert.True(ActivationCheckpointing.EveryKth(2).Covers(2));
        Assert.False(ActivationCheckpointing.Off.Covers(0));
    }

    private static GppfNetwork Network(ActivationCheckpointing checkpointing, long seed, BackboneConfig? backbone = null) =>
        new((backbone ?? BackboneConfig.Tiny(2)) with { ActivationCheckpointing = checkpointing },
            [Nets.Classifier(ToyTasks.Colour.Name, ToyTasks.Colour.Classes), Nets.Classifier(ToyTasks.Stripes.Name, ToyTasks.Stripes.Classes)], seed);

    // One training forward and backward outside a step (plain batch norm updating its buffers at
    // once): every parameter's gradient ("grad:" keys) and the state after it.
    private static Dictionary<string, Tensor> GradientsAndState(ActivationCheckpointing checkpointing, RoutingMode mode, BackboneConfig? backbone = null)
    {
        using var net = Network(checkpointing, seed: 5, backbone);
        Nets.RandomiseNorms(net, 11);
        net.train();
        using var scope = NewDisposeScope();
        var (x, y) = ToyTasks.Batch(ToyTasks.Colour.Name, 3, 0);
        var loss = nn.functional.cross_entropy(net.Forward(ToyTasks.Colour.Name, x, new RouteRequest(mode, 1.0, 77, 3, 0)), y);
        loss.backward();
        var grads = net.named_parameters().Where(p => p.parameter.grad is not null)
            .Select(p => KeyValuePair.Create($"grad:{p.name}", p.parameter.grad!));
        return StateAssert.Snapshot(net.state_dict().Concat(grads));
    }

    private sealed record DeviceRun(Dictionary<string, Tensor> State, IReadOnlyList<string> Operations, long[] LiveTensors);

    // Two SIMT steps with cross-task SyncBN on World in-process devices: per device, the state,
    // optimizer state and fused gradients after them, the all-reduces issued, and the live tensor
    // count after each step.
    private static DeviceRun[] RunDevices(ActivationCheckpointing checkpointing, RoutingMode mode) =>
        Devices.Run(World, (rank, inner) =>
        {
            using var replica = new Replica(Network(checkpointing, seed: 100 + rank), new OptimizerConfig(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 1e-4));
            replica.AlignFrom(inner);
            Nets.RandomiseNorms(replica.Network, 11);
            var group = new RecordingGroup(inner);     // not disposed: Devices.Run disposes the group it wraps
            var live = new long[2];
            for (long step = 0; step < 3; step++)
            {
                StepWith(replica, group, rank, step, mode);
                if (step > 0)
                {
                    live[step - 1] = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
                }
            }
            using var scope = NewDisposeScope();
            var grads = replica.Network.named_parameters().Where(p => p.parameter.grad is not null)
                .Select(p => KeyValuePair.Create($"grad:{p.name}", p.parameter.grad!));
            var optimizer = replica.Optimizer.StateDict().Select(kv => KeyValuePair.Create($"optimizer:{kv.Key}", kv.Value));
            return new DeviceRun(StateAssert.Snapshot(replica.Network.state_dict().Concat(grads).Concat(optimizer)), group.AllReduces.ToArray(), live);
        });

    private static void StepWith(Replica replica, ICollectiveGroup group, int rank, long step, RoutingMode mode, Action<StepPhase>? onPhase = null)
    {
        var plan = new StepPlan(step, Task(step, rank), Enumerable.Range(0, World).Select(r => Task(step, r)).Distinct().ToArray(), mode, 1.0, 0.05, 2024)
        {
            OnPhase = onPhase,
        };
        replica.TrainStep(group, plan, (net, request) =>
        {
            var (x, y) = ToyTasks.Batch(plan.Task, plan.Step, rank);
            return nn.functional.cross_entropy(net.Forward(plan.Task, x, request), y);
        });
    }

    private static string Task(long step, int rank) => (step + rank) % 3 == 0 ? ToyTasks.Stripes.Name : ToyTasks.Colour.Name;
}
