using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Sampling;
using Xunit;

namespace GppfActors.Actors.Tests.Coordinator;

public class TakeoverSpecs
{
    private static readonly SampledTask[] Tasks = [new("a", 2.0, 50, 4), new("b", 1.0, 30, 3)];

    private static TaskSamplerState Sampler() => new(Tasks, 11, SamplingMode.Simt);

    private static string Flat(StepDrawn d) => string.Join(" | ", d.Tasks.Zip(d.Indices, (t, i) => $"{t}:{string.Join(",", i)}"));

    // An undisturbed coordinator's sampler, stepped through 0..steps-1 with three devices: the
    // states before each step's draw, and what each step drew.
    private static (List<string> Before, List<StepDrawn> Drawn) Undisturbed(int steps)
    {
        var history = new TaskSamplerHistory(Sampler());
        var before = new List<string>();
        var drawn = new List<StepDrawn>();
        for (int s = 0; s < steps; s++)
        {
            var d = history.Draw(s, 3);
            before.Add(d.StateBefore!);
            drawn.Add(d);
        }
        before.Add(history.State.ToJson());
        return (before, drawn);
    }

    private static CoordinatorSnapshot Snapshot(long step, string samplerBefore, long epoch = 4, long committed = 5, long skippedTotal = 2, int skippedInARow = 1) =>
        new(step, epoch, 3, samplerBefore, "{\"schedule\":" + step + "}", committed, skippedTotal, skippedInARow);

    private static DeviceReport Report(int ordinal, long? readyFor, CoordinatorSnapshot? last, long epoch = 4, bool skipped = false) =>
        new(new DeviceId("cpu", ordinal) { Node = $"10.0.0.{ordinal}:4053" }, $"p{ordinal}", $"10.0.0.{ordinal}:5000", epoch, readyFor, skipped, last);

    [Fact]
    public void Should_continue_at_the_step_in_flight_from_its_snapshot_when_no_survivor_applied_it()
    {
        var (before, _) = Undisturbed(8);
        // Step 7 was dispatched; the coordinator died with it; the survivors' collectives failed.
        var reports = new List<(string, DeviceReport)>
        {
            ("d1", Report(1, 7, Snapshot(7, before[7]))),
            ("d2", Report(2, 7, Snapshot(7, before[7]))),
        };
        var sampler = Sampler();

        var decision = Takeover.Resolve(reports, sampler);

        var plan = Assert.IsType<Takeover.Decision<string>.Continue>(decision).Plan;
        Assert.Equal(7, plan.Step);
        Assert.Equal(1, plan.StepsLost);
        Assert.Equal(before[7], plan.SamplerJson);
        Assert.Equal(before[7], sampler.ToJson());
        Assert.Equal("{\"schedule\":7}", plan.Schedule);
        Assert.Equal(["d1", "d2"], plan.Current);
        Assert.Equal((2L, 1, 5L), (plan.NonFiniteTotal, plan.NonFiniteConsecutive, plan.LastCommittedStep));
    }

    [Fact]
    public void Should_move_the_sampler_past_a_step_that_survivors_applied_exactly_as_the_lost_coordinator_had()
    {
        var (before, drawn) = Undisturbed(9);
        // Step 7 completed on the survivors; the coordinator died before dispatching step 8.
        var reports = new List<(string, DeviceReport)>
        {
            ("d1", Report(1, 8, Snapshot(7, before[7]))),
            ("d2", Report(2, 8, Snapshot(7, before[7]))),
        };
        var sampler = Sampler();

        var plan = Assert.IsType<Takeover.Decision<string>.Continue>(Takeover.Resolve(reports, sampler)).Plan;

        Assert.Equal(8, plan.Step);
        Assert.Equal(0, plan.StepsLost);
        Assert.Equal(before[8], plan.SamplerJson);
        // The next draw hands out what the undisturbed coordinator's step 8 did.
        var history = new TaskSamplerHistory(sampler);
        Assert.Equal(Flat(drawn[8]), Flat(history.Draw(8, 3)));
        Assert.Equal((2L, 0, 5L), (plan.NonFiniteTotal, plan.NonFiniteConsecutive, plan.LastCommittedStep));
    }

    [Fact]
    public void Should_take_the_most_advanced_replicas_as_current_and_leave_the_others_to_be_aligned()
    {
        var (before, _) = Undisturbed(8);
        // Rank 1 completed step 7 before the abort reached it; rank 2 failed it; rank 3 restarted (no state).
        var reports = new List<(string, DeviceReport)>
        {
            ("d1", Report(1, 8, Snapshot(7, before[7]), skipped: true)),
            ("d2", Report(2, 7, Snapshot(7, before[7]))),
            ("d3", Report(3, null, null, epoch: -1)),
        };

        var plan = Assert.IsType<Takeover.Decision<string>.Continue>(Takeover.Resolve(reports, Sampler())).Plan;

        Assert.Equal(8, plan.Step);
        Assert.Equal(["d1"], plan.Current);
        Assert.Equal(before[8], plan.SamplerJson);
        // Rank 1 skipped step 7 as non-finite: the counters go on from the snapshot.
        Assert.Equal((3L, 2), (plan.NonFiniteTotal, plan.NonFiniteConsecutive));
    }

    [Fact]
    public void Should_start_epochs_above_every_epoch_a_device_or_snapshot_saw()
    {
        var (before, _) = Undisturbed(3);
        var reports = new List<(string, DeviceReport)>
        {
            ("d1", Report(1, 2, Snapshot(2, before[2], epoch: 6), epoch: 6)),
            ("d2", Report(2, null, null, epoch: 9)),
        };

        var plan = Assert.IsType<Takeover.Decision<string>.Continue>(Takeover.Resolve(reports, Sampler())).Plan;

        Assert.Equal(9, plan.EpochFloor);
    }

    [Fact]
    public void Should_fall_back_to_the_newest_checkpoint_when_no_survivor_holds_trained_state()
    {
        var reports = new List<(string, DeviceReport)> { ("d1", Report(1, null, null, epoch: 7)) };

        var fallBack = Assert.IsType<Takeover.Decision<string>.FallBack>(Takeover.Resolve(reports, Sampler()));

        Assert.Contains("none of the 1 surviving device(s) holds trained state", fallBack.Reason);
        Assert.Equal(7, fallBack.EpochFloor);
        Assert.IsType<Takeover.Decision<string>.FallBack>(Takeover.Resolve(new List<(string, DeviceReport)>(), Sampler()));
    }

    [Fact]
    public void Should_fall_back_when_no_snapshot_describes_the_survivors_state()
    {
        var (before, _) = Undisturbed(6);
        // Aligned to step 5 by a coordinator that died before dispatching it; the last snapshot is step 3's.
        var reports = new List<(string, DeviceReport)> { ("d1", Report(1, 5, Snapshot(3, before[3]))) };

        var fallBack = Assert.IsType<Takeover.Decision<string>.FallBack>(Takeover.Resolve(reports, Sampler()));

        Assert.Contains("no device holds the coordinator's state for step 5 or 4", fallBack.Reason);
    }
}
