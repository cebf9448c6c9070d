using GppfActors.Collectives.Tests.Support;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests;

/// <summary>All-reduce across processes (nodes with real sockets on 127.0.0.1, one thread per rank).</summary>
public class TcpAllReduceSpecs
{
    private static readonly ScalarType[] Dtypes = [ScalarType.Float32, ScalarType.Float64, ScalarType.Int32, ScalarType.Int64];

    // Empty, one element, both sides of the small-payload limit (64 KiB: 8,192 elements of 8
    // bytes, 16,384 of 4), several segments per chunk and, with the fine settings below, several
    // buckets; 400,001 float32 gives two default (1 MiB) segments per chunk.
    private static readonly long[] Sizes = [0, 1, 7, 8_192, 8_193, 16_384, 16_385, 100_003];

    private static IEnumerable<long> SizesOf(ScalarType dtype) => dtype == ScalarType.Float32 ? [.. Sizes, 400_001] : Sizes;

    // Small segments and buckets, so that many segments and several buckets are exercised cheaply.
    private static readonly CollectiveNodeOptions Fine = new() { SegmentBytes = 4096, BucketBytes = 256 << 10 };

    public static TheoryData<int, bool> Layouts => new()
    {
        { 2, false }, { 3, false }, { 2, true }, { 3, true },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Should_equal_the_float64_reference_when_processes_all_reduce(int numProcesses, bool fineSegments)
    {
        using var cluster = LocalCluster.Start(numProcesses, fineSegments ? Fine : null);
        var spec = cluster.Spec(1, 20, Enumerable.Range(0, numProcesses).ToArray());
        var results = cluster.Run(spec, (rank, group) =>
        {
            var exact = new List<Tensor>();
            var random = new List<Tensor>();
            foreach (var dtype in Dtypes)
            {
                foreach (var n in SizesOf(dtype))
                {
                    var e = Inputs.Exact(rank, n, dtype);
                    var r = Inputs.Random(rank, n, dtype);
                    group.AllReduceSum([e], $"exact {dtype} {n}");
                    group.AllReduceSum([r], $"random {dtype} {n}");
                    exact.Add(e);
                    random.Add(r);
                }
            }
            return (exact, random);
        });
        int i = 0;
        foreach (var dtype in Dtypes)
        {
            foreach (var n in SizesOf(dtype))
            {
                var exactReference = Inputs.Float64Sum(Enumerable.Range(0, numProcesses).Select(r => Inputs.Exact(r, n, dtype)), dtype);
                var randomReference = Inputs.Float64Sum(Enumerable.Range(0, numProcesses).Select(r => Inputs.Random(r, n, dtype)), dtype);
                for (int rank = 0; rank < numProcesses; rank++)
                {
                    TensorAssert.Equal(results[rank].exact[i], exactReference, $"exact {dtype} n={n} rank {rank}");
                    TensorAssert.Close(results[rank].random[i], randomReference, rtol: dtype == ScalarType.Float32 ? 1e-6 : 1e-13, what: $"random {dtype} n={n} rank {rank}");
                    TensorAssert.Equal(results[rank].random[i], results[0].random[i], $"random {dtype} n={n}: rank {rank} differs from rank 0");
                }
                i++;
            }
        }
    }

    [Fact]
    public void Should_equal_the_rank_order_sum_bit_for_bit_when_two_processes_all_reduce()
    {
        using var cluster = LocalCluster.Start(2);
        var spec = cluster.Spec(1, 20, 0, 1);
        long[] sizes = [1000, 300_001, 3_000_000];   // small path, packed ring, ring in the tensor's own memory
        var results = cluster.Run(spec, (rank, group) =>
        {
            var tensors = sizes.Select(n => Inputs.Random(rank, n, float32)).ToList();
            foreach (var t in tensors)
            {
                group.AllReduceSum([t], $"n={t.numel()}");
            }
            // As task-average fusion calls it: one large flat tensor reduced in place, small
            // counts packed behind it, one call.
            var flat = Inputs.Random(rank, 3_000_000, float32, salt: 1);
            var counts = Inputs.Random(rank, 37, float32, salt: 2);
            group.AllReduceSum([flat, counts], "task-average");
            tensors.Add(flat);
            tensors.Add(counts);
            return tensors;
        });
        var expected = sizes.Select(n => Inputs.Random(0, n, float32) + Inputs.Random(1, n, float32)).ToList();
        expected.Add(Inputs.Random(0, 3_000_000, float32, salt: 1) + Inputs.Random(1, 3_000_000, float32, salt: 1));
        expected.Add(Inputs.Random(0, 37, float32, salt: 2) + Inputs.Random(1, 37, float32, salt: 2));
        for (int i = 0; i < expected.Count; i++)
        {
            TensorAssert.Equal(results[0][i], expected[i], $"rank 0, tensor {i}");
            TensorAssert.Equal(results[1][i], expected[i], $"rank 1, tensor {i}");
        }
    }

    [Fact]
    public void Should_sum_in_the_documented_order_when_three_processes_all_reduce()
    {
        // Small path: every member sums ((x0 + x1) + x2). Ring: chunk c starts at member c,
        // ((xc + xc+1) + xc+2). The inputs are chosen so that association changes the bits.
        using var cluster = LocalCluster.Start(3);
        var spec = cluster.Spec(1, 20, 0, 1, 2);
        const long small = 9999;
        const long large = 600_000;
        var results = cluster.Run(spec, (rank, group) =>
        {
            var s = Inputs.Random(rank, small, float32);
            var l = Inputs.Random(rank, large, float32);
            group.AllReduceSum([s], "small");
            group.AllReduceSum([l], "large");
            return (s, l);
        });
        var x = Enumerable.Range(0, 3).Select(r => Inputs.Random(r, large, float32)).ToArray();
        var expectedLarge = empty(large, dtype: float32);
        for (int c = 0; c < 3; c++)
        {
            long a = large * c / 3;
            long b = large * (c + 1) / 3;
            expectedLarge[TensorIndex.Slice(a, b)] = (x[c][TensorIndex.Slice(a, b)] + x[(c + 1) % 3][TensorIndex.Slice(a, b)]) + x[(c + 2) % 3][TensorIndex.Slice(a, b)];
        }
        var expectedSmall = (Inputs.Random(0, small, float32) + Inputs.Random(1, small, float32)) + Inputs.Random(2, small, float32);
        var rankOrderLarge = (x[0] + x[1]) + x[2];
        Assert.False(rankOrderLarge.eq(expectedLarge).all().item<bool>(), "inputs too tame: association does not change the bits");
        foreach (var (s, l) in results)
        {
            TensorAssert.Equal(s, expectedSmall, "small path: ring order");
            TensorAssert.Equal(l, expectedLarge, "ring: each chunk summed starting at its own member");
        }
    }

    public static TheoryData<int[]> HierarchicalLayouts => new()
    {
        new[] { 0, 0, 1, 1 },      // 2 processes x 2 ranks
        new[] { 0, 1, 0, 1 },      // ranks interleaved across processes
        new[] { 0, 0, 0, 1, 2 },   // uneven: 3 + 1 + 1
    };

    [Theory]
    [MemberData(nameof(HierarchicalLayouts))]
    public void Should_sum_each_process_first_then_across_processes_when_processes_hold_several_ranks(int[] processOfRank)
    {
        int world = processOfRank.Length;
        int numProcesses = processOfRank.Max() + 1;
        using var cluster = LocalCluster.Start(numProcesses);
        var spec = cluster.Spec(3, 20, processOfRank);
        long[] sizes = [5000, 300_001];
        var results = cluster.Run(spec, (rank, group) =>
        {
            var tensors = sizes.Select(n => Inputs.Random(rank, n, float32)).ToList();
            var counts = Inputs.Exact(rank, 10, int64);
            group.AllReduceSum([tensors[0], counts, tensors[1]], "mixed");
            return (tensors, counts);
        });
        var countsReference = Inputs.Float64Sum(Enumerable.Range(0, world).Select(r => Inputs.Exact(r, 10, int64)), int64);
        for (int i = 0; i < sizes.Length; i++)
        {
            var reference = Inputs.Float64Sum(Enumerable.Range(0, world).Select(r => Inputs.Random(r, sizes[i], float32)), float32);
            // Per process in rank order, then processes in ring order (for two processes the ring
            // order does not change the bits).
            var partials = Enumerable.Range(0, numProcesses)
                .Select(p => Enumerable.Range(0, world).Where(r => processOfRank[r] == p)
                    .Select(r => Inputs.Random(r, sizes[i], float32)).Aggregate((a, b) => a + b))
                .ToArray();
            for (int rank = 0; rank < world; rank++)
            {
                TensorAssert.Close(results[rank].tensors[i], reference, rtol: 1e-6, what: $"n={sizes[i]} rank {rank}");
                TensorAssert.Equal(results[rank].tensors[i], results[0].tensors[i], $"n={sizes[i]}: rank {rank} differs from rank 0");
                TensorAssert.Equal(results[rank].counts, countsReference, $"int64 counts rank {rank}");
            }
            if (numProcesses == 2 && sizes[i] * 4 <= 64 << 10)
            {
                TensorAssert.Equal(results[0].tensors[i], partials[0] + partials[1], "local sums first, then across processes");
            }
        }
    }

    [Fact]
    public void Should_give_the_in_process_groups_bits_when_every_rank_is_in_one_process()
    {
        using var cluster = LocalCluster.Start(1);
        var spec = cluster.Spec(1, 20, 0, 0, 0, 0);
        var viaNode = cluster.Run(spec, (rank, group) =>
        {
            var t = Inputs.Random(rank, 50_000, float32);
            group.AllReduceSum([t]);
            return t;
        });
        var viaHub = Devices.Run(4, (rank, group) =>
        {
            var t = Inputs.Random(rank, 50_000, float32);
            group.AllReduceSum([t]);
            return t;
        });
        var rankOrder = ((Inputs.Random(0, 50_000, float32) + Inputs.Random(1, 50_000, float32)) + Inputs.Random(2, 50_000, float32)) + Inputs.Random(3, 50_000, float32);
        for (int r = 0; r < 4; r++)
        {
            TensorAssert.Equal(viaNode[r], viaHub[r], $"rank {r}");
            TensorAssert.Equal(viaNode[r], rankOrder, $"rank {r}: rank order");
        }
    }
}
