using GppfActors.Tasks.Data;
using GppfActors.Tasks.Synthetic;
using GppfActors.Tasks.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Data;

public class PrefetchingLoaderSpecs(SynthData data) : IClassFixture<SynthData>
{
    private static readonly long[] Indices = [3, 0, 17, 3, 9];

    private PrefetchingLoader Loader(SynthTask task, long seed = 42, int rank = 0, int workers = 2) =>
        new(SynthDatasets.Open(data.Root, task, "train"), SynthDatasets.TrainAugmentation(task, data.Manifest),
            new LoaderOptions { Seed = seed, Rank = rank, NumWorkers = workers, TimeoutSeconds = 20 });

    [Theory]
    [InlineData(SynthTask.Classification)]
    [InlineData(SynthTask.Detection)]
    [InlineData(SynthTask.Segmentation)]
    [InlineData(SynthTask.Depth)]
    public void Should_give_identical_tensors_when_seed_step_rank_and_indices_repeat(SynthTask task)
    {
        using var first = Loader(task, workers: 1);
        using var second = Loader(task, workers: 2);

        using var a = first.Get(7, Indices);
        using var b = second.Get(7, Indices);

        BatchAssert.Identical(a, b);
    }

    [Theory]
    [InlineData(SynthTask.Classification)]
    [InlineData(SynthTask.Detection)]
    public void Should_augment_differently_when_the_step_or_rank_differs(SynthTask task)
    {
        using var rank0 = Loader(task);
        using var rank1 = Loader(task, rank: 1);

        using var step7 = rank0.Get(7, Indices);
        using var step8 = rank0.Get(8, Indices);
        using var otherRank = rank1.Get(7, Indices);

        Assert.Equal(step7.SampleIndices, step8.SampleIndices);
        Assert.False(BatchAssert.AllEqual(step7.Images, step8.Images), "step 8 replayed step 7's augmentation");
        Assert.False(BatchAssert.AllEqual(step7.Images, otherRank.Images), "rank 1 replayed rank 0's augmentation");
        // Positions 0 and 3 hold the same index: sampling with replacement still gets two different crops.
        Assert.False(BatchAssert.AllEqual(step7.Images[0], step7.Images[3]), "a repeated index got the same crop");
    }

    [Theory]
    [InlineData(SynthTask.Classification)]
    [InlineData(SynthTask.Detection)]
    [InlineData(SynthTask.Segmentation)]
    [InlineData(SynthTask.Depth)]
    public void Should_return_the_same_batch_when_prefetched_as_when_decoded_directly(SynthTask task)
    {
        using var prefetching = Loader(task);
        using var direct = Loader(task);

        prefetching.Prefetch(5, Indices);
        using var fromPrefetch = prefetching.Get(5, Indices);
        using var fromDirect = direct.Get(5, Indices);

        Assert.Equal((1L, 0L), (prefetching.PrefetchHits, prefetching.PrefetchMisses));
        Assert.Equal((0L, 1L), (direct.PrefetchHits, direct.PrefetchMisses));
        BatchAssert.Identical(fromDirect, fromPrefetch);
    }

    [Fact]
    public void Should_decode_now_when_the_hint_does_not_match()
    {
        using var loader = Loader(SynthTask.Segmentation);
        using var reference = Loader(SynthTask.Segmentation);

        loader.Prefetch(5, [1, 2, 3]);
        using var batch = loader.Get(6, [1, 2, 3]);
        using var expected = reference.Get(6, [1, 2, 3]);

        Assert.Equal((0L, 1L), (loader.PrefetchHits, loader.PrefetchMisses));
        BatchAssert.Identical(expected, batch);
    }

    [Fact]
    public void Should_fill_the_targets_of_each_task_with_the_documented_shapes_and_types()
    {
        using var cls = Loader(SynthTask.Classification);
        using var det = Loader(SynthTask.Detection);
        using var seg = Loader(SynthTask.Segmentation);
        using var depth = Loader(SynthTask.Depth);

        using var c = cls.Get(0, Indices);
        using var d = det.Get(0, Indices);
        using var s = seg.Get(0, Indices);
        using var z = depth.Get(0, Indices);

        Assert.Equal([5L, 3, 32, 32], c.Images.shape);
        Assert.Equal(ScalarType.Float32, c.Images.dtype);
        Assert.Equal(ScalarType.Int64, c.ClassTargets!.dtype);
        Assert.Equal([5L], c.ClassTargets.shape);
        Assert.Null(c.Masks);
        Assert.Equal([5L, 3, 64, 64], d.Images.shape);
        Assert.Equal(5, d.Boxes!.Count);
        Assert.All(d.Boxes, b => Assert.Equal(4, b.shape[1]));
        Assert.All(d.Boxes.Zip(d.BoxLabels!), p => Assert.Equal(p.First.shape[0], p.Second.shape[0]));
        Assert.True(d.Boxes.Sum(b => b.shape[0]) > 0);
        Assert.Equal([5L, 64, 64], s.Masks!.shape);
        Assert.Equal(ScalarType.Int64, s.Masks.dtype);
        var labels = s.Masks.unique().output.data<long>().ToArray();
        Assert.Subset(new HashSet<long> { 0, 1, 2, 3, 4, 5, 255 }, labels.ToHashSet());
        Assert.Equal([5L, 1, 64, 64], z.Depth!.shape);
        Assert.True(z.Depth.max().item<float>() > 5f);
        // Normalised with ImageNet statistics: roughly centred, not raw bytes.
        Assert.InRange(z.Images.mean().item<float>(), -2.5f, 2.5f);
        Assert.Equal(Indices, d.SampleIndices);
    }

    [Fact]
    public void Should_hand_out_tensors_that_outlive_the_callers_dispose_scope()
    {
        using var loader = Loader(SynthTask.Segmentation);
        TaskBatch batch;
        using (NewDisposeScope())
        {
            batch = loader.Get(0, Indices);
        }

        Assert.False(batch.Images.IsInvalid);
        Assert.False(batch.Masks!.IsInvalid);
        Assert.Equal(5 * 3 * 64 * 64, batch.Images.numel());
        batch.Dispose();
        Assert.True(batch.Images.IsInvalid);
    }

    [Fact]
    public void Should_keep_the_live_tensor_count_flat_when_batches_are_disposed()
    {
        // Batches are collated on the loader's workers, so the count is the process's, not this
        // thread's; tensors only the collector would free are finalised before each reading.
        static long Live()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return Tensor.TotalCount;
        }
        using var loader = Loader(SynthTask.Detection);
        var counts = new List<long>();
        for (var step = 0; step < 5; step++)
        {
            loader.Prefetch(step, Indices);
            using (loader.Get(step, Indices))
            {
            }
            counts.Add(Live());
        }

        Assert.All(counts, count => Assert.Equal(counts[0], count));
        // The probe must see a batch that is not disposed, or a flat count would prove nothing.
        using var kept = loader.Get(9, Indices);
        Assert.True(Live() > counts[0]);
    }

    [Fact]
    public void Should_release_the_tensors_of_a_collated_batch_nobody_collects_when_its_hint_is_dropped()
    {
        using var loader = Loader(SynthTask.Detection);
        using (loader.Get(0, Indices))
        {
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Tensor.TotalCount;
        loader.Prefetch(1, Indices);
        Assert.True(Eventually(() => loader.ReadyBatches == 1, 20), "the hinted batch was never collated");
        Assert.True(Tensor.TotalCount > before, "the collated batch holds no tensors");

        // Step 2's batch replaces the hint of step 1, which is never collected: its tensors are
        // released then, not left to the garbage collector (pinned memory would wait for it).
        using (loader.Get(2, Indices))
        {
        }

        Assert.Equal(before, Tensor.TotalCount);
    }

    private static bool Eventually(Func<bool> condition, double seconds)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed.TotalSeconds > seconds)
            {
                return false;
            }
            Thread.Sleep(20);
        }
        return true;
    }

    [Fact]
    public void Should_refuse_an_index_outside_the_dataset_when_asked_for_it()
    {
        using var loader = Loader(SynthTask.Classification);

        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Get(0, [0, 20]));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Prefetch(0, [-1]));
    }
}
