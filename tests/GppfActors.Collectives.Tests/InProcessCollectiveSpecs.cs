using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests;

public class InProcessCollectiveSpecs
{
    [Fact]
    public void Should_sum_many_tensors_across_buckets_when_all_reducing()
    {
        // Tensors of several sizes, one spanning buckets (bucket = 64 bytes = 16 floats).
        var sums = Devices.Run(3, (rank, group) =>
        {
            var hubGroup = group;
            var a = arange(40, dtype: float32) * (rank + 1);
            var b = full(new long[] { 3, 2 }, (float)rank);
            var c = ones(1) * 10 * rank;
            hubGroup.AllReduceSum([a, b, c]);
            return (a, b, c);
        });
        foreach (var (a, b, c) in sums)
        {
            TensorAssert.Equal(a, arange(40, dtype: float32) * 6, "a");
            TensorAssert.Equal(b, full(new long[] { 3, 2 }, 3f), "b");
            TensorAssert.Equal(c, ones(1) * 30, "c");
        }
    }

    [Fact]
    public void Should_give_bit_identical_sums_on_every_rank_when_values_round()
    {
        // Values chosen so that the summation order changes the float result.
        var results = Devices.Run(4, (rank, group) =>
        {
            using var g = new Generator((ulong)(rank + 7));
            var t = randn(new long[] { 1000 }, generator: g) * MathF.Pow(10, rank);
            group.AllReduceSum([t]);
            return t;
        });
        for (int r = 1; r < results.Length; r++)
        {
            TensorAssert.Equal(results[r], results[0], $"rank {r}");
        }
        // and the order is rank 0 + 1 + 2 + 3:
        Tensor expected = zeros(1000);
        for (int r = 0; r < 4; r++)
        {
            using var g = new Generator((ulong)(r + 7));
            expected = r == 0 ? randn(new long[] { 1000 }, generator: g) : expected + randn(new long[] { 1000 }, generator: g) * MathF.Pow(10, r);
        }
        TensorAssert.Equal(results[0], expected, "fixed order");
    }

    [Fact]
    public void Should_copy_root_values_when_broadcasting_and_gathering()
    {
        var results = Devices.Run(3, (rank, group) =>
        {
            var w = full(new long[] { 5, 5 }, (double)rank, dtype: float64);
            var n = full(new long[] { 2 }, (long)rank, dtype: int64);
            group.Broadcast([w, n], root: 2);
            var gathered = group.AllGather(tensor(new[] { rank * 1.5f, -rank }));
            group.Barrier();
            return (w, n, gathered);
        });
        foreach (var (w, n, gathered) in results)
        {
            TensorAssert.Equal(w, full(new long[] { 5, 5 }, 2.0, dtype: float64), "broadcast float64");
            TensorAssert.Equal(n, full(new long[] { 2 }, 2L, dtype: int64), "broadcast int64");
            Assert.Equal(3, gathered.Length);
            for (int r = 0; r < 3; r++)
            {
                TensorAssert.Equal(gathered[r], tensor(new[] { r * 1.5f, -r }), $"gathered {r}");
            }
        }
    }

    [Fact]
    public void Should_fail_every_member_with_epoch_and_operation_when_a_member_never_arrives()
    {
        var hub = new InProcessCollectiveHub(epoch: 7, worldSize: 3, timeout: TimeSpan.FromMilliseconds(300));
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            try
            {
                hub.Join(rank).AllReduceSum([ones(4)], "grad-sync");
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(10)), "member hung"));

        Assert.All(errors, e => Assert.IsAssignableFrom<CollectiveException>(e));
        var timeout = errors.OfType<CollectiveTimeoutException>().First();
        Assert.Equal(7, timeout.Epoch);
        Assert.Equal("grad-sync", timeout.Operation);
        Assert.Equal([2], timeout.MissingRanks);
        Assert.Contains("epoch 7", timeout.Message);
        // The group stays aborted: a late member fails at once instead of waiting.
        var late = Assert.Throws<CollectiveAbortedException>(() => hub.Join(2).AllReduceSum([ones(4)], "grad-sync"));
        Assert.Contains("timed out", late.Reason);
    }

    [Fact]
    public void Should_wake_waiting_members_when_aborted()
    {
        var hub = new InProcessCollectiveHub(epoch: 3, worldSize: 2, timeout: TimeSpan.FromSeconds(30));
        Exception? error = null;
        using var entered = new ManualResetEventSlim();
        var waiter = new Thread(() =>
        {
            try
            {
                entered.Set();
                hub.Join(0).Barrier("step 12");
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        waiter.Start();
        entered.Wait();
        long until = Environment.TickCount64 + 5000;
        while (waiter.ThreadState != ThreadState.WaitSleepJoin && Environment.TickCount64 < until)
        {
            Thread.Yield();
        }
        hub.Abort("node-2 left the cluster");
        Assert.True(waiter.Join(TimeSpan.FromSeconds(5)), "abort did not wake the waiting member");
        var aborted = Assert.IsType<CollectiveAbortedException>(error);
        Assert.Equal(3, aborted.Epoch);
        Assert.Equal("step 12", aborted.Operation);
        Assert.Contains("node-2 left the cluster", aborted.Message);
    }

    [Fact]
    public void Should_report_a_mismatch_when_members_issue_different_operations()
    {
        var ex = Assert.Throws<AggregateException>(() => Devices.Run(2, (rank, group) =>
        {
            if (rank == 0)
            {
                group.AllReduceSum([ones(4)], "syncbn layer 1");
            }
            else
            {
                group.AllReduceSum([ones(6)], "syncbn layer 2");
            }
            return 0;
        }, timeoutSeconds: 5));
        Assert.Contains(ex.InnerExceptions, e => e is CollectiveMismatchException m && m.Message.Contains("rank 0") && m.Message.Contains("rank 1"));
    }
}
