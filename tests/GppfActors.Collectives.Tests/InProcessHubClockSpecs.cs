using GppfActors.Collectives.Tests.Support;
using Xunit;

namespace GppfActors.Collectives.Tests;

/// <summary>The hub's deadlines come from a monotonic clock, never from the wall clock.</summary>
public class InProcessHubClockSpecs
{
    [Fact]
    public void Should_not_time_out_when_real_time_passes_but_the_monotonic_clock_stands_still()
    {
        // Time-out 50 ms; the waiter goes round its 50 ms wait loop at least 6 times (300 ms of
        // real time and six wall-clock jumps of a day) without timing out, because the monotonic
        // clock does not move. A wall-clock deadline would have fired after the first round.
        var clock = new SteppedClock(notifyAfterReads: 8);
        var hub = new InProcessCollectiveHub(epoch: 5, worldSize: 2, timeout: TimeSpan.FromMilliseconds(50), timeProvider: clock);
        Exception? error = null;
        var waiter = new Thread(() =>
        {
            try
            {
                hub.Join(0).Barrier("step 1");
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        waiter.Start();

        Assert.True(clock.EnoughReads.Wait(TimeSpan.FromSeconds(20)), "the waiter never went round its wait loop");
        Assert.False(hub.IsAborted, $"timed out although the monotonic clock stood still: {error?.Message}");
        hub.Join(1).Barrier("step 1");
        Assert.True(waiter.Join(TimeSpan.FromSeconds(10)));
        Assert.Null(error);
        Assert.False(clock.WallClockRead, "the hub read the wall clock");
    }

    [Fact]
    public void Should_time_out_when_the_monotonic_clock_passes_the_deadline()
    {
        var clock = new SteppedClock(notifyAfterReads: 3);
        var hub = new InProcessCollectiveHub(epoch: 6, worldSize: 2, timeout: TimeSpan.FromMilliseconds(50), timeProvider: clock);
        Exception? error = null;
        var waiter = new Thread(() =>
        {
            try
            {
                hub.Join(0).AllReduceSum([TorchSharp.torch.ones(3)], "grad-sync");
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        waiter.Start();
        Assert.True(clock.EnoughReads.Wait(TimeSpan.FromSeconds(20)), "the waiter never went round its wait loop");
        Assert.False(hub.IsAborted);

        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.True(waiter.Join(TimeSpan.FromSeconds(10)), "the waiter did not time out once the monotonic clock passed its deadline");
        var timeout = Assert.IsType<CollectiveTimeoutException>(error);
        Assert.Equal(6, timeout.Epoch);
        Assert.Equal([1], timeout.MissingRanks);
    }
}
