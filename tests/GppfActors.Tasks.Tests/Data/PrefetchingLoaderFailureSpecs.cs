using System.Diagnostics;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Data;

public sealed class PrefetchingLoaderFailureSpecs : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>Six 16x16 segmentation samples named 0..5; the ones in <paramref name="corrupt"/> have garbage for an image.</summary>
    private SegmentationFolderDataset Segmentation(params int[] corrupt)
    {
        for (var i = 0; i < 6; i++)
        {
            var image = dir.File("images", $"{i}.png");
            if (corrupt.Contains(i))
            {
                TestImages.WriteGarbage(image);
            }
            else
            {
                TestImages.WriteRgbPng(image, TestImages.Pattern(16, 16, seed: i));
            }
            TestImages.WriteGray8(dir.File("masks", $"{i}.png"), 16, 16, (x, y) => (byte)(x < 8 ? 1 : 0));
        }
        return SegmentationFolderDataset.Open("seg", Path.Combine(dir.Path, "images"), Path.Combine(dir.Path, "masks"));
    }

    private static PrefetchingLoader Loader(ITaskDataset dataset, bool skip = false, double timeoutSeconds = 20, Action<string>? logger = null, int maxSkips = 16) =>
        new(dataset, AugmentationOptions.Dense(16, 16), new LoaderOptions
        {
            Seed = 1,
            NumWorkers = 2,
            SkipBadSamples = skip,
            MaxSkipAttempts = maxSkips,
            TimeoutSeconds = timeoutSeconds,
            Logger = logger,
        });

    [Fact]
    public void Should_name_the_bad_file_when_a_worker_fails_and_skipping_is_off()
    {
        using var loader = Loader(Segmentation(corrupt: 2));

        var direct = Assert.Throws<DataFormatException>(() => loader.Get(0, [1, 2, 3]));
        loader.Prefetch(1, [2, 4]);
        var prefetched = Assert.Throws<DataFormatException>(() => loader.Get(1, [2, 4]));

        Assert.Equal(Path.Combine(dir.Path, "images", "2.png"), direct.FilePath);
        Assert.Equal(direct.FilePath, prefetched.FilePath);
        Assert.Equal(0, loader.SkippedCount);
    }

    [Fact]
    public void Should_name_the_mask_when_its_size_differs_and_skipping_is_off()
    {
        var dataset = Segmentation();
        var mask = Path.Combine(dir.Path, "masks", "4.png");
        TestImages.WriteGray8(mask, 8, 16, (x, y) => 1);
        using var loader = Loader(dataset);

        var e = Assert.Throws<DataFormatException>(() => loader.Get(0, [0, 4]));

        Assert.Equal(mask, e.FilePath);
    }

    [Fact]
    public void Should_replace_a_bad_sample_with_the_next_good_index_and_count_it_when_skipping_is_on()
    {
        var log = new List<string>();
        var dataset = Segmentation(corrupt: [2, 3]);
        using var loader = Loader(dataset, skip: true, logger: log.Add);
        using var again = Loader(dataset, skip: true);

        using var batch = loader.Get(0, [2, 5, 1]);
        using var replay = again.Get(0, [2, 5, 1]);

        Assert.Equal([4L, 5, 1], batch.SampleIndices);
        Assert.Equal(2, loader.SkippedCount);
        Assert.Equal(2, log.Count);
        Assert.Contains("skipped bad sample 2 (used 4 instead)", log[0]);
        Assert.Contains(Path.Combine(dir.Path, "images", "2.png"), log[0]);
        Assert.Contains(Path.Combine(dir.Path, "images", "3.png"), log[1]);
        BatchAssert.Identical(batch, replay);
    }

    [Fact]
    public void Should_wrap_around_to_index_zero_when_the_last_samples_are_bad()
    {
        using var loader = Loader(Segmentation(corrupt: 5), skip: true);

        using var batch = loader.Get(0, [5]);

        Assert.Equal([0L], batch.SampleIndices);
        Assert.Equal(1, loader.SkippedCount);
    }

    [Fact]
    public void Should_fail_naming_the_file_when_every_allowed_attempt_is_bad()
    {
        using var loader = Loader(Segmentation(corrupt: [1, 2]), skip: true, maxSkips: 2);

        var e = Assert.Throws<DataFormatException>(() => loader.Get(0, [1]));

        Assert.Equal(Path.Combine(dir.Path, "images", "2.png"), e.FilePath);
        Assert.Contains("2 consecutive bad samples from index 1", e.Message);
        Assert.Equal(0, loader.SkippedCount);
    }

    [Fact]
    public void Should_time_out_naming_the_sample_and_file_after_the_time_out_when_a_decode_never_finishes()
    {
        const double timeoutSeconds = 0.5;
        using var gate = new ManualResetEventSlim(false);
        var dataset = new BlockingDataset(gate);
        // One worker takes the jobs in order, so once sample 1 has started decoding sample 0 is done: which
        // sample the loader waits on is then fixed, whatever the machine's speed.
        using var loader = new PrefetchingLoader(dataset, AugmentationOptions.Dense(16, 16),
            new LoaderOptions { Seed = 1, NumWorkers = 1, TimeoutSeconds = timeoutSeconds });
        try
        {
            loader.Prefetch(3, [0, 1]);
            Assert.True(dataset.Blocked.Wait(TimeSpan.FromSeconds(30)), "sample 1 never started decoding");
            var clock = Stopwatch.StartNew();

            var e = Assert.Throws<TimeoutException>(() => loader.Get(3, [0, 1]));

            clock.Stop();
            Assert.Contains("step 3", e.Message);
            Assert.Contains("1 of 2 samples done", e.Message);
            Assert.Contains("waiting on sample 1 (stuck-1.png)", e.Message);
            // Never early (the loader measures its wait on the monotonic clock), and nowhere near the gate's own
            // one-minute release, which would have let the batch finish instead.
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(timeoutSeconds), TimeSpan.FromSeconds(timeoutSeconds + 20));
        }
        finally
        {
            gate.Set();
        }
    }

    [Fact]
    public void Should_report_the_file_when_a_dataset_throws_an_unexpected_exception()
    {
        using var loader = Loader(new ThrowingDataset());

        var e = Assert.Throws<DataFormatException>(() => loader.Get(0, [0]));

        Assert.Equal("broken-0.png", e.FilePath);
        Assert.IsType<InvalidOperationException>(e.InnerException);
    }

    /// <summary>
    /// Sample 0 decodes at once; sample 1 signals <see cref="Blocked"/> and then blocks until the gate opens, like a read
    /// from a hung network drive (a minute at most, so a test that forgets the gate cannot hang the run).
    /// </summary>
    private sealed class BlockingDataset(ManualResetEventSlim gate) : ITaskDataset
    {
        public string Name => "stuck";

        public int Count => 2;

        public ManualResetEventSlim Blocked { get; } = new(false);

        public DecodedSample Decode(long index)
        {
            if (index == 1)
            {
                Blocked.Set();
                gate.Wait(TimeSpan.FromMinutes(1));
            }
            return new DecodedSample { Image = TestImages.Pattern(16, 16), SourcePath = SourceOf(index), Mask = new LabelMask(16, 16, new byte[256]) };
        }

        public string SourceOf(long index) => $"stuck-{index}.png";
    }

    /// <summary>Fails the way a decoder bug would, with an exception that is not a data-format error.</summary>
    private sealed class ThrowingDataset : ITaskDataset
    {
        public string Name => "broken";

        public int Count => 1;

        public DecodedSample Decode(long index) => throw new InvalidOperationException("decoder state machine confused");

        public string SourceOf(long index) => $"broken-{index}.png";
    }
}
