using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>
/// Decodes and augments one sample of one step, skipping bad files when asked. A pure function of
/// (dataset, options, step, position, index): prefetching and direct decoding both call it, so they agree.
/// </summary>
public sealed class SampleProducer
{
    private readonly ITaskDataset dataset;
    private readonly SampleAugmenter augmenter;
    private readonly LoaderOptions options;

    public SampleProducer(ITaskDataset dataset, AugmentationOptions augmentation, LoaderOptions options)
    {
        this.dataset = dataset;
        augmenter = new SampleAugmenter(augmentation);
        this.options = options.Validate();
    }

    /// <summary>
    /// Sample <paramref name="index"/> at batch <paramref name="position"/> of <paramref name="step"/>. Skips
    /// are appended to <paramref name="skips"/>; the result's SampleIndex is the index actually used.
    /// </summary>
    public AugmentedSample Produce(long step, int rank, int position, long index, List<SkippedSample> skips)
    {
        // Seeded by the requested index and position: a replacement sample gets the draws the bad one would
        // have had, and a duplicate index in one batch (sampling with replacement) still gets its own crop.
        var random = SeedMixer.CreateRandom(options.Seed, step, rank, index, position);
        var attempts = options.SkipBadSamples ? Math.Min(options.MaxSkipAttempts, dataset.Count) : 1;
        var bad = new List<(long Index, DataFormatException Error)>();
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var candidate = (index + attempt) % dataset.Count;
            DecodedSample decoded;
            try
            {
                decoded = Decode(candidate);
            }
            catch (DataFormatException e) when (options.SkipBadSamples)
            {
                bad.Add((candidate, e));
                continue;
            }
            skips.AddRange(bad.Select(b => new SkippedSample(step, b.Index, candidate, b.Error.Message)));
            try
            {
                return augmenter.Apply(decoded, candidate, random);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Not skipped: the file decoded, so this is more likely a bug than bad data, but the file is still the first clue.
                throw new InvalidOperationException($"{decoded.SourcePath}: augmenting sample {candidate} of {dataset.Name} failed: {e.Message}", e);
            }
        }
        var last = bad[^1].Error;
        throw new DataFormatException(last.FilePath,
            $"{attempts} consecutive bad samples from index {index} in {dataset.Name}; the last: {last.Detail}", last.JsonPath, last);
    }

    /// <summary>
    /// Any failure while reading a sample is reported against its file and its index, whatever threw it: data sets name
    /// the file, and only here is the index known to every kind of data set, so it is added here, once.
    /// </summary>
    private DecodedSample Decode(long index)
    {
        try
        {
            return dataset.Decode(index);
        }
        catch (DataFormatException e)
        {
            throw new DataFormatException(e.FilePath, $"sample {index} of {dataset.Name}: {e.Detail}", e.JsonPath, e);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DataFormatException(dataset.SourceOf(index), $"sample {index} of {dataset.Name}: decoding failed: {e.GetType().Name}: {e.Message}", inner: e);
        }
    }
}

/// <summary>A bad sample that was replaced, the index used instead, and the error that disqualified it.</summary>
public sealed record SkippedSample(long Step, long SampleIndex, long ReplacedBy, string Reason);
