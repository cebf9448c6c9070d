using System.Collections.Concurrent;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Data;

public class PrefetchQueueSpecs
{
    private static PrefetchingLoader Loader(ITaskDataset dataset, int workers = 2, int depth = 2) =>
        new(dataset, AugmentationOptions.Dense(16, 16), new LoaderOptions { Seed = 3, NumWorkers = workers, PrefetchDepth = depth, TimeoutSeconds = 20 });

    [Fact]
    public void Should_serve_both_steps_from_prefetch_when_the_next_step_is_hinted_before_the_current_is_collected()
    {
        using var loader = Loader(new RecordingDataset());

        loader.Prefetch(5, [1, 2]);
        loader.Prefetch(6, [3, 4]);
        using var five = loader.Get(5, [1, 2]);
        using var six = loader.Get(6, [3, 4]);

        Assert.Equal((2L, 0L), (loader.PrefetchHits, loader.PrefetchMisses));
        Assert.Equal([3L, 4], six.SampleIndices);
    }

    [Fact]
    public void Should_drop_the_oldest_hint_when_more_hints_than_the_depth_are_given()
    {
        using var loader = Loader(new RecordingDataset(), depth: 2);

        loader.Prefetch(1, [1]);
        loader.Prefetch(2, [2]);
        loader.Prefetch(3, [3]);
        using var one = loader.Get(1, [1]);
        using var two = loader.Get(2, [2]);
        using var three = loader.Get(3, [3]);

        Assert.Equal((2L, 1L), (loader.PrefetchHits, loader.PrefetchMisses));
    }

    [Fact]
    public void Should_replace_the_hint_of_a_step_when_it_is_hinted_again_with_other_indices()
    {
        using var loader = Loader(new RecordingDataset());

        loader.Prefetch(4, [1, 2]);
        loader.Prefetch(4, [5, 6]);
        using var first = loader.Get(4, [5, 6]);
        using var second = loader.Get(4, [1, 2]);

        Assert.Equal((1L, 1L), (loader.PrefetchHits, loader.PrefetchMisses));
    }

    [Fact]
    public async Task Should_decode_a_missed_batch_before_queued_prefetch_work()
    {
        using var gate = new ManualResetEventSlim(false);
        var dataset = new RecordingDataset(blockOn: 1, gate);
        using var loader = Loader(dataset, workers: 1);
        try
        {
            // The single worker picks up sample 1 of step 9 and blocks on it; three more samples of step 9 queue behind.
            loader.Prefetch(9, [1, 2, 2, 2]);
            Assert.True(SpinWait.SpinUntil(() => dataset.Started.Contains(1), TimeSpan.FromSeconds(5)), "the worker never started");
            var get = Task.Run(() => loader.Get(1, [0]));
            Assert.True(SpinWait.SpinUntil(() => loader.PrefetchMisses == 1, TimeSpan.FromSeconds(5)), "Get never queued its batch");
            gate.Set();

            using var batch = await get.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal([0L], batch.SampleIndices);
            Assert.Equal([1L, 0], dataset.Started.Take(2));
        }
        finally
        {
            gate.Set();
        }
    }

    /// <summary>Records the order samples start decoding in; optionally blocks one index until a gate opens.</summary>
    private sealed class RecordingDataset(long blockOn = -1, ManualResetEventSlim? gate = null) : ITaskDataset
    {
        public ConcurrentQueue<long> Started { get; } = new();

        public string Name => "recording";

        public int Count => 8;

        public DecodedSample Decode(long index)
        {
            Started.Enqueue(index);
            if (index == blockOn)
            {
                gate!.Wait(TimeSpan.FromSeconds(10));
            }
            return new DecodedSample { Image = TestImages.Pattern(16, 16, (int)index), SourcePath = SourceOf(index), Mask = new LabelMask(16, 16, new byte[256]) };
        }

        public string SourceOf(long index) => $"sample-{index}.png";
    }
}
