using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Training;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Training;

/// <summary>
/// A step in which some device produces a non-finite loss or gradient is skipped on every replica:
/// 3 virtual devices, AdamW (so step counters would show a partial update), one faulty device.
/// </summary>
public class NonFiniteStepSpecs
{
    private const int World = 3;
    private const int BadRank = 1;
    private const long BadStep = 2;
    private const long Steps = 4;

    public enum Fault
    {
        NaNLoss,
        InfHeadGradient,
    }

    // The faulty device's loss at the bad step. InfHeadGradient adds sqrt(z) with z = b - b.detach()
    // for one bias b of its head: the value is unchanged (sqrt 0 = 0) but d sqrt(z)/dz at 0 is
    // +Inf, so exactly one gradient of one device is infinite.
    private static Tensor Loss(GppfNetwork net, RouteRequest request, StepPlan plan, int rank, Fault fault)
    {
        var loss = ToyTraining.Loss(net, request, plan, rank);
        if (plan.Step != BadStep || rank != BadRank)
        {
            return loss;
        }
        if (fault == Fault.NaNLoss)
        {
            return loss * double.NaN;
        }
        var bias = net.Head(plan.Task).parameters().Last();
        var z = bias[0] - bias[0].detach();
        return loss + z.sqrt();
    }

    private static Dictionary<string, Tensor>[] Undisturbed(bool syncBatchNorm, IEnumerable<long> steps) =>
        Devices.Run(World, (rank, group) =>
        {
            using var replica = ToyTraining.NewReplica(rank, OptimizerKind.AdamW);
            replica.AlignFrom(group);
            foreach (var step in steps)
            {
                ToyTraining.Step(replica, group, ToyTraining.Plan(step, rank, World) with { SyncBatchNorm = syncBatchNorm });
            }
            return ToyTraining.FullState(replica);
        });

    // With SyncBN a NaN loss reaches every device: the backward all-reduce of sum(dy) carries the
    // faulty device's NaN into every device's input gradients, so all three report. An infinite
    // head gradient stays on its device; without SyncBN nothing is shared before fusion.
    [Theory]
    [InlineData(Fault.NaNLoss, true, World)]
    [InlineData(Fault.InfHeadGradient, true, 1)]
    [InlineData(Fault.NaNLoss, false, 1)]
    public void Should_skip_the_step_on_every_replica_when_one_device_is_not_finite(Fault fault, bool syncBatchNorm, int expectedRanks)
    {
        var runs = Devices.Run(World, (rank, group) =>
        {
            using var replica = ToyTraining.NewReplica(rank, OptimizerKind.AdamW);
            replica.AlignFrom(group);
            StepResult? bad = null;
            StepResult? next = null;
            Dictionary<string, Tensor>? before = null;
            Dictionary<string, Tensor>? after = null;
            bool gradientsCleared = false;
            for (long step = 0; step < Steps; step++)
            {
                var plan = ToyTraining.Plan(step, rank, World) with { SyncBatchNorm = syncBatchNorm };
                if (step == BadStep)
                {
                    before = ToyTraining.FullState(replica);
                }
                var result = replica.TrainStep(group, plan, (net, request) => Loss(net, request, plan, rank, fault));
                if (step == BadStep)
                {
                    bad = result;
                    after = ToyTraining.FullState(replica);
                    gradientsCleared = replica.Network.parameters().All(p => p.grad is null);
                }
                else if (step == BadStep + 1)
                {
                    next = result;
                }
            }
            return (Bad: bad!, Next: next!, Before: before!, After: after!, GradientsCleared: gradientsCleared, Final: ToyTraining.FullState(replica));
        });
        // The skipped step must leave no trace: the run equals one that never ran it.
        var reference = Undisturbed(syncBatchNorm, Enumerable.Range(0, (int)Steps).Select(s => (long)s).Where(s => s != BadStep));

        for (int rank = 0; rank < World; rank++)
        {
            var run = runs[rank];
            Assert.False(run.Bad.Applied, $"rank {rank} applied the non-finite step");
            Assert.Equal(expectedRanks, run.Bad.NonFiniteRanks);
            Assert.True(run.GradientsCleared, $"rank {rank} kept gradients of the skipped step");
            StateAssert.BytesEqual(run.Before, run.After, $"rank {rank}: state across the skipped step");
            Assert.True(run.Next.Applied, $"rank {rank} did not apply the step after the skipped one");
            Assert.Equal(0, run.Next.NonFiniteRanks);
            StateAssert.BytesEqual(reference[rank], run.Final, $"rank {rank}: final state against a run without the skipped step");
        }
        StateAssert.DisposeAll(runs.SelectMany(r => new[] { r.Before, r.After, r.Final }).Concat(reference));
    }
}
