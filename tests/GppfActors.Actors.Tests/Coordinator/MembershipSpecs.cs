using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using Xunit;

namespace GppfActors.Actors.Tests.Coordinator;

public class MembershipSpecs
{
    private static DeviceId Cpu(int ordinal) => new("cpu", ordinal);

    [Fact]
    public void Should_continue_epochs_above_the_start_epoch_when_a_run_resumes()
    {
        var membership = new Membership<string>(startEpoch: 7);
        membership.Register("a", Cpu(0));

        Assert.Equal(8, membership.FormEpoch());
        Assert.Equal(9, membership.FormEpoch());
    }

    [Fact]
    public void Should_order_ranks_by_device_and_mark_changes_when_devices_join_or_leave()
    {
        var membership = new Membership<string>();
        membership.Register("b", Cpu(1));
        membership.Register("a", Cpu(0));
        membership.Register("c", Cpu(2));
        Assert.True(membership.Changed);
        membership.FormEpoch();
        Assert.False(membership.Changed);
        Assert.Equal(["a", "b", "c"], membership.Ranks);

        Assert.Equal(1, membership.Lose("b"));
        Assert.True(membership.Changed);
        Assert.Equal(-1, membership.Lose("b"));       // the same loss reported twice (restart, then stop) is one loss
        membership.FormEpoch();
        Assert.Equal(["a", "c"], membership.Ranks);
        Assert.Equal(1, membership.RankOf("c"));
    }

    [Fact]
    public void Should_align_from_the_first_member_that_kept_its_state()
    {
        var membership = new Membership<string>();
        membership.Register("a", Cpu(0));
        membership.Register("b", Cpu(1));
        membership.FormEpoch();
        Assert.Equal(0, membership.AlignmentRoot(anyStepRan: false));   // all fresh, nothing trained: rank 0's state
        Assert.Null(membership.AlignmentRoot(anyStepRan: true));        // all fresh after training: the state is lost
        membership.Aligned();

        membership.Register("a", Cpu(0));          // a restarted: stale again
        membership.FormEpoch();
        Assert.Equal(1, membership.AlignmentRoot(anyStepRan: true));
    }
}
