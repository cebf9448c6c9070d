using GppfActors.Collectives;
using GppfActors.Model.Routing;
using GppfActors.Model.Training;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Training;

/// <summary>
/// A device fails in the middle of step k on 3 virtual devices; as a device actor does, it aborts
/// the group, so its peers fail in their pending collective. Recovery as the coordinator runs it:
/// a new group, every replica takes rank 0's state, step k is redone. Nothing of the failed
/// attempt may survive: the result must equal an undisturbed run byte for byte.
/// </summary>
public class StepFaultSpecs
{
    private const int World = 3;
    private const long FaultStep = 2;
    private const long Steps = 4;

    public enum Fault
    {
        /// <summary>The device dies inside forward, after the stem (peers fail in a forward collective).</summary>
        MidForward,

        /// <summary>StepPhase.AfterForward (peers fail in their first backward collective).</summary>
        AfterForward,

        /// <summary>StepPhase.InBackward, from the device's first SyncBN backward (peers fail there too).</summary>
        InBackward,
    }

    private sealed class InjectedFault(string message) : Exception(message);

    private static readonly Lazy<Dictionary<string, Tensor>[]> UndisturbedRun = new(() =>
        Devices.Run(World, (rank, group) =>
        {
            using var replica = ToyTraining.NewReplica(rank);
            replica.AlignFrom(group);
            for (long step = 0; step < Steps; step++)
            {
                ToyTraining.Step(replica, group, ToyTraining.Plan(step, rank, World));
            }
            return ToyTraining.FullState(replica);
        }));

    private static StepPlan FaultyPlan(int rank, int thrower, Fault fault)
    {
        var plan = ToyTraining.Plan(FaultStep, rank, World);
        var phase = fault == Fault.InBackward ? StepPhase.InBackward : StepPhase.AfterForward;
        return rank != thrower || fault == Fault.MidForward ? plan : plan with
        {
            OnPhase = p =>
            {
                if (p == phase)
                {
                    throw new InjectedFault($"rank {rank} fails at {p}");
                }
            },
        };
    }

    private static StepResult FaultyStep(Replica replica, ICollectiveGroup group, StepPlan plan, int thrower, Fault fault)
    {
        if (fault != Fault.MidForward || group.Rank != thrower)
        {
            return ToyTraining.Step(replica, group, plan);
        }
        return replica.TrainStep(group, plan, (net, request) =>
        {
            // The stem's SyncBN collectives complete on every device, then this device dies.
            var (x, _) = ToyTasks.Batch(plan.Task, plan.Step, group.Rank);
            net.Backbone.Layer(0).forward(x, LayerRoute.Soft(tensor(new[] { 0.5f, 0.5f })));
            throw new InjectedFault($"rank {group.Rank} fails inside forward");
        });
    }

    [Theory]
    [InlineData(Fault.MidForward, 1)]
    [InlineData(Fault.AfterForward, 1)]
    [InlineData(Fault.AfterForward, 0)]
    [InlineData(Fault.InBackward, 2)]
    [InlineData(Fault.InBackward, 0)]
    public void Should_end_byte_identical_to_an_undisturbed_run_when_a_device_fails_mid_step_and_the_step_is_redone(Fault fault, int thrower)
    {
        var replicas = new Replica[World];
        var failures = new Exception?[World];
        var liveCounts = new (long BeforeFault, long AfterFault)[World];
        try
        {
            Devices.Run(World, (rank, group) =>
            {
                var replica = replicas[rank] = ToyTraining.NewReplica(rank);
                replica.AlignFrom(group);
                for (long step = 0; step < FaultStep; step++)
                {
                    ToyTraining.Step(replica, group, ToyTraining.Plan(step, rank, World));
                }
                long live = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
                try
                {
                    FaultyStep(replica, group, FaultyPlan(rank, thrower, fault), thrower, fault);
                }
                catch (Exception e)
                {
                    // What the device actor does: abort the group so that no peer waits, then report.
                    failures[rank] = e;
                    group.Abort($"rank {rank} failed: {e.Message}");
                }
                liveCounts[rank] = (live, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
                return 0;
            }, epoch: 1);

            var recovered = Devices.Run(World, (rank, group) =>
            {
                var replica = replicas[rank];
                replica.AlignFrom(group, root: 0);
                for (long step = FaultStep; step < Steps; step++)
                {
                    ToyTraining.Step(replica, group, ToyTraining.Plan(step, rank, World));
                }
                return ToyTraining.FullState(replica);
            }, epoch: 2);

            for (int rank = 0; rank < World; rank++)
            {
                if (rank == thrower)
                {
                    Assert.IsType<InjectedFault>(failures[rank]);
                }
                else
                {
                    Assert.IsType<CollectiveAbortedException>(failures[rank]);
                }
                Assert.Equal(liveCounts[rank].BeforeFault, liveCounts[rank].AfterFault);
                StateAssert.BytesEqual(UndisturbedRun.Value[rank], recovered[rank], $"rank {rank} after recovery");
            }
            StateAssert.DisposeAll(recovered);
        }
        finally
        {
            foreach (var replica in replicas)
            {
                replica?.Dispose();
            }
        }
    }
}
