using GppfActors.Collectives.Tests.Support;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests;

/// <summary>Broadcast, all-gather and barrier across processes, flat and hierarchical.</summary>
public class TcpBroadcastGatherSpecs
{
    public static TheoryData<int[]> Layouts => new()
    {
        new[] { 0, 1 },            // two processes, one rank each
        new[] { 0, 1, 2 },         // three processes
        new[] { 0, 0, 1, 1 },      // 2 processes x 2 ranks
        new[] { 0, 1, 1, 0, 2 },   // interleaved and uneven
    };

    // Small segments so that a broadcast of 50,000 float32 travels in many pipelined segments.
    private static readonly CollectiveNodeOptions Fine = new() { SegmentBytes = 8192 };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Should_copy_the_roots_tensors_when_broadcasting_from_every_root(int[] processOfRank)
    {
        int world = processOfRank.Length;
        using var cluster = LocalCluster.Start(processOfRank.Max() + 1, Fine);
        var spec = cluster.Spec(2, 20, processOfRank);
        var results = cluster.Run(spec, (rank, group) =>
        {
            var received = new List<Tensor[]>();
            for (int root = 0; root < world; root++)
            {
                Tensor[] tensors =
                [
                    Inputs.Random(rank, 50_000, float32, salt: root),
                    full(new long[] { 2, 3 }, (long)(rank * 100 + root), dtype: int64),
                    Inputs.Random(rank, 3, float64, salt: root),
                ];
                group.Broadcast(tensors, root, $"from {root}");
                received.Add(tensors);
            }
            return received;
        });
        for (int root = 0; root < world; root++)
        {
            for (int rank = 0; rank < world; rank++)
            {
                var t = results[rank][root];
                TensorAssert.Equal(t[0], Inputs.Random(root, 50_000, float32, salt: root), $"float32 from root {root} at rank {rank}");
                TensorAssert.Equal(t[1], full(new long[] { 2, 3 }, (long)(root * 100 + root), dtype: int64), $"int64 from root {root} at rank {rank}");
                TensorAssert.Equal(t[2], Inputs.Random(root, 3, float64, salt: root), $"float64 from root {root} at rank {rank}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Should_index_by_global_rank_when_all_gathering(int[] processOfRank)
    {
        int world = processOfRank.Length;
        using var cluster = LocalCluster.Start(processOfRank.Max() + 1, Fine);
        var spec = cluster.Spec(4, 20, processOfRank);
        var results = cluster.Run(spec, (rank, group) =>
        {
            var small = group.AllGather(tensor(new[] { rank * 1.5f, -rank }), "small");
            var large = group.AllGather(Inputs.Random(rank, 20_000, float64).reshape(100, 200), "large");
            var none = group.AllGather(empty(0, dtype: int32), "empty");
            return (small, large, none);
        });
        for (int rank = 0; rank < world; rank++)
        {
            var (small, large, none) = results[rank];
            Assert.Equal(world, small.Length);
            Assert.Equal(world, large.Length);
            Assert.Equal(world, none.Length);
            for (int r = 0; r < world; r++)
            {
                TensorAssert.Equal(small[r], tensor(new[] { r * 1.5f, -r }), $"small[{r}] at rank {rank}");
                TensorAssert.Equal(large[r], Inputs.Random(r, 20_000, float64).reshape(100, 200), $"large[{r}] at rank {rank}");
                Assert.Equal(0, none[r].numel());
            }
        }
    }

    [Fact]
    public void Should_return_from_a_barrier_only_when_every_rank_has_called_it()
    {
        // Ranks 0 and 2 (process 0) enter the barrier and block; rank 1 (process 1) records that
        // it arrived only then, and enters. Whoever leaves the barrier must see that record.
        using var cluster = LocalCluster.Start(2);
        var spec = cluster.Spec(5, 20, 0, 1, 0);
        var entered = new bool[3];
        int lateArrived = 0;
        using var mayEnter = new ManualResetEventSlim();
        var running = cluster.Start(spec, (rank, group) =>
        {
            if (rank == 1)
            {
                Assert.True(mayEnter.Wait(TimeSpan.FromSeconds(20)));
                Volatile.Write(ref lateArrived, 1);
            }
            Volatile.Write(ref entered[rank], true);
            group.Barrier("epoch start");
            return (Seen: Volatile.Read(ref lateArrived), group.WaitTime);
        });
        running.WaitUntilBlocked(r => Volatile.Read(ref entered[r]), 0, 2);
        mayEnter.Set();
        var outcomes = running.Wait();

        Assert.All(outcomes, o => Assert.Equal(1, o.Result.Seen));
        Assert.True(outcomes[0].Result.WaitTime > TimeSpan.Zero, "rank 0 waited but reports no wait time");
    }
}
