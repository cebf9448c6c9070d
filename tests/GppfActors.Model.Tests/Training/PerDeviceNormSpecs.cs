using GppfActors.Model.Routing;
using GppfActors.Testing;
using Xunit;

namespace GppfActors.Model.Tests.Training;

/// <summary>
/// The per-device BatchNorm ablation (SyncBatchNorm = false): each device normalises with its own
/// batch, but the replicas must still hold the same running statistics, or they stop being replicas.
/// </summary>
public class PerDeviceNormSpecs
{
    private const int World = 3;

    [Theory]
    [InlineData(RoutingMode.Soft)]
    [InlineData(RoutingMode.Hard)]
    public void Should_keep_every_replica_byte_identical_when_batch_norm_is_per_device(RoutingMode mode)
    {
        var states = Devices.Run(World, (rank, group) =>
        {
            using var replica = ToyTraining.NewReplica(rank);
            replica.AlignFrom(group);
            var initial = ToyTraining.FullState(replica);
            for (long step = 0; step < 6; step++)
            {
                ToyTraining.Step(replica, group, ToyTraining.Plan(step, rank, World, mode) with { SyncBatchNorm = false });
            }
            return (Initial: initial, Final: ToyTraining.FullState(replica));
        });

        // The running statistics did move, so identity is not the trivial one of untouched buffers.
        var moved = states[0].Final.Keys.Where(k => k.EndsWith("running_mean", StringComparison.Ordinal))
            .Count(k => !states[0].Final[k].bytes.SequenceEqual(states[0].Initial[k].bytes));
        Assert.True(moved > 0, "no running mean changed");
        for (int rank = 1; rank < World; rank++)
        {
            StateAssert.BytesEqual(states[0].Final, states[rank].Final, $"{mode}: rank {rank} against rank 0");
        }
        StateAssert.DisposeAll(states.SelectMany(s => new[] { s.Initial, s.Final }));
    }
}
