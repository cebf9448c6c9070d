using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Tests.Checkpointing;
using Xunit;

namespace GppfActors.Actors.Tests.Coordinator;

public class CheckpointCaptureSpecs
{
    private static CheckpointCapture Capture() => new(writeTimeoutSeconds: 100, commitTimeoutSeconds: 10, commitAttempts: 3);

    private static CheckpointCapture Writing(long step, object writer, double now = 0)
    {
        var capture = Capture();
        Assert.Null(capture.Request(step));
        capture.SamplerState("{}");
        Assert.False(capture.ReadyToWrite);
        capture.ScheduleState("[]");
        Assert.True(capture.ReadyToWrite);
        Assert.Equal((step, "{}", "[]"), capture.StartWriting(writer, now));
        return capture;
    }

    [Fact]
    public void Should_go_from_request_to_commit_and_accept_the_next_checkpoint_afterwards()
    {
        var capture = Writing(10, "rank0");
        Assert.NotNull(capture.Request(20));                  // one at a time
        Assert.True(capture.Written(Records.At(10), now: 1));
        Assert.Equal(CapturePhase.Committing, capture.Phase);
        capture.Committed(10);
        Assert.Equal(10, capture.LastCommittedStep);
        Assert.False(capture.Busy);
        Assert.Null(capture.Request(20));
        Assert.Contains("already committed", capture.Request(5) is { } r ? r : "", StringComparison.Ordinal);
    }

    [Fact]
    public void Should_give_up_a_write_whose_writer_never_answers_so_later_checkpoints_are_not_skipped_forever()
    {
        var capture = Writing(10, "rank0", now: 0);
        Assert.Null(capture.Expired(99));
        var timeout = Assert.IsType<CaptureTimeout.GiveUp>(capture.Expired(100));
        Assert.Equal(10, timeout.Step);
        Assert.False(capture.Busy);
        Assert.Null(capture.Request(20));
    }

    [Fact]
    public void Should_give_up_at_once_when_the_writing_device_is_lost()
    {
        var capture = Writing(10, "rank0");
        Assert.Null(capture.WriterLost("rank1"));
        Assert.NotNull(capture.WriterLost("rank0"));
        Assert.False(capture.Busy);
    }

    [Fact]
    public void Should_send_the_commit_again_until_its_attempts_are_spent()
    {
        var capture = Writing(10, "rank0");
        Assert.True(capture.Written(Records.At(10), now: 0));
        Assert.Equal(2, Assert.IsType<CaptureTimeout.RetryCommit>(capture.Expired(10)).Attempt);
        Assert.Null(capture.Expired(15));
        Assert.Equal(3, Assert.IsType<CaptureTimeout.RetryCommit>(capture.Expired(20)).Attempt);
        Assert.IsType<CaptureTimeout.GiveUp>(capture.Expired(30));
        Assert.False(capture.Busy);
    }

    [Fact]
    public void Should_commit_a_late_write_only_when_nothing_else_is_in_flight_and_it_is_newer()
    {
        var capture = Writing(10, "rank0", now: 0);
        Assert.IsType<CaptureTimeout.GiveUp>(capture.Expired(100));
        Assert.True(capture.Written(Records.At(10), now: 101));    // late, but complete and newer
        capture.Committed(10);
        Assert.False(capture.Written(Records.At(10), now: 102));   // already committed
        Assert.Null(capture.Request(20));
        Assert.False(capture.Written(Records.At(15), now: 103));   // another checkpoint is on its way
    }
}
