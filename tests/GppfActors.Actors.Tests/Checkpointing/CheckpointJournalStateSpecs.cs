using GppfActors.Actors.Checkpointing;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public class CheckpointJournalStateSpecs
{
    private static CheckpointJournalState Committed(params long[] steps) =>
        steps.Aggregate(CheckpointJournalState.Empty, (state, step) => state.Apply(new CheckpointCommitted(Records.At(step))));

    [Fact]
    public void Should_list_committed_checkpoints_newest_first_when_events_are_applied()
    {
        var state = Committed(10, 20, 30);

        Assert.Equal([30L, 20L, 10L], state.CommittedNewestFirst.Select(record => record.Step));
        Assert.Equal(Records.At(30), state.Latest);
        Assert.Null(CheckpointJournalState.Empty.Latest);
    }

    [Fact]
    public void Should_forget_checkpoints_when_deleted_or_discarded_events_are_applied()
    {
        var state = Committed(10, 20, 30, 40)
            .Apply(new CheckpointsDeleted([10, 20]))
            .Apply(new CheckpointDiscarded(40, "hash mismatch"));

        Assert.Equal([30L], state.CommittedNewestFirst.Select(record => record.Step));
        Assert.False(state.IsCommitted(40));
    }

    [Fact]
    public void Should_keep_run_starts_in_order_when_applied()
    {
        var first = new RunStarted("r", "aa", Records.Created);
        var second = new RunStarted("r", "bb", Records.Created.AddHours(1));

        var state = CheckpointJournalState.Empty.Apply(first).Apply(second);

        Assert.Equal([first, second], state.Runs);
    }

    [Fact]
    public void Should_decide_to_persist_when_the_checkpoint_is_newer_than_the_latest()
    {
        Assert.IsType<CommitDecision.Persist>(CheckpointJournalState.Empty.DecideCommit(Records.At(0)));
        Assert.IsType<CommitDecision.Persist>(Committed(10).DecideCommit(Records.At(20, epoch: 2)));
    }

    [Fact]
    public void Should_acknowledge_without_persisting_when_the_same_checkpoint_is_committed_again()
    {
        Assert.IsType<CommitDecision.AlreadyCommitted>(Committed(10, 20).DecideCommit(Records.At(20)));
    }

    [Theory]
    [InlineData(15, 1, "older than the latest committed step 20")]
    [InlineData(30, 0, "epoch 0 is older than the latest committed epoch 1")]
    public void Should_reject_when_progress_would_go_back(long step, long epoch, string reason)
    {
        var decision = Committed(10, 20).DecideCommit(Records.At(step, epoch));

        Assert.Contains(reason, Assert.IsType<CommitDecision.Reject>(decision).Reason);
    }

    [Fact]
    public void Should_reject_when_the_step_is_committed_with_another_manifest()
    {
        var decision = Committed(10, 20).DecideCommit(Records.At(20, hashDigit: 'b'));

        Assert.Contains("already committed", Assert.IsType<CommitDecision.Reject>(decision).Reason);
    }

    [Fact]
    public void Should_reject_when_the_record_is_malformed()
    {
        var relative = Records.At(5) with { Directory = "step-00000005" };
        var badHash = Records.At(5) with { ManifestSha256 = "not-a-hash" };

        Assert.Contains("absolute", Assert.IsType<CommitDecision.Reject>(CheckpointJournalState.Empty.DecideCommit(relative)).Reason);
        Assert.Contains("SHA-256", Assert.IsType<CommitDecision.Reject>(CheckpointJournalState.Empty.DecideCommit(badHash)).Reason);
    }

    [Fact]
    public void Should_accept_an_older_step_again_when_the_newer_checkpoint_was_discarded()
    {
        var state = Committed(10, 20).Apply(new CheckpointDiscarded(20, "corrupt"));

        Assert.IsType<CommitDecision.Persist>(state.DecideCommit(Records.At(15)));
    }

    [Fact]
    public void Should_drop_all_but_the_last_K_and_every_Mth_when_deciding_retention()
    {
        var state = Committed(100, 200, 300, 400, 500, 600, 700, 800, 900, 1000);

        var doomed = state.DecideRetention(new RetentionPolicy(NumLatestKept: 3, KeepEverySteps: 500));

        Assert.Equal([100L, 200L, 300L, 400L, 600L, 700L], doomed.Select(record => record.Step));
    }

    [Fact]
    public void Should_drop_nothing_when_no_more_than_K_are_committed()
    {
        Assert.Empty(Committed(1, 2, 3).DecideRetention(new RetentionPolicy(3, 0)));
        Assert.Equal([1L], Committed(1, 2, 3, 4).DecideRetention(new RetentionPolicy(3, 0)).Select(record => record.Step));
    }

    [Fact]
    public void Should_refuse_a_policy_that_keeps_no_checkpoint_when_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetentionPolicy(0, 10).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetentionPolicy(1, -1).Validate());
    }
}
