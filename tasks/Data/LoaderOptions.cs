namespace GppfActors.Tasks.Data;

/// <summary>How one device's loader for one task runs: its random stream, workers, error policy and time-out.</summary>
public sealed record LoaderOptions
{
    /// <summary>min(4, cores): decoding small images saturates well before more threads pay off, and the step needs cores too.</summary>
    public static int DefaultNumWorkers => Math.Min(4, Environment.ProcessorCount);

    /// <summary>Run seed; with (step, rank, sample index) it fixes every augmentation draw.</summary>
    public long Seed { get; init; }

    /// <summary>The rank of calls that do not name one; different ranks augment differently (the trainer passes each step's rank).</summary>
    public int Rank { get; init; }

    public int NumWorkers { get; init; } = DefaultNumWorkers;

    /// <summary>
    /// How many hinted batches may be decoding ahead at once: 2 lets a caller hint step s+1 before it collects
    /// step s without cancelling s, and keeps workers busy while the caller collates.
    /// </summary>
    public int PrefetchDepth { get; init; } = 2;

    /// <summary>
    /// When true a sample that fails to decode is replaced by the next good index (i+1, i+2, ... wrapping),
    /// counted, and logged; when false the failure surfaces from <see cref="PrefetchingLoader.Get(long, int, IReadOnlyList{long})"/>.
    /// </summary>
    public bool SkipBadSamples { get; init; }

    /// <summary>How many consecutive bad indices a skip may pass before giving up with an error.</summary>
    public int MaxSkipAttempts { get; init; } = 16;

    /// <summary>
    /// How long <see cref="PrefetchingLoader.Get(long, int, IReadOnlyList{long})"/> waits for a batch, measured on the monotonic clock, before failing
    /// with a <see cref="TimeoutException"/> naming the sample and file it waited on; finite, in (0, <see cref="MaxTimeoutSeconds"/>].
    /// Keep it below the collective time-out (<c>collectives.timeout_seconds</c>, 60 s by default): a device stuck on a
    /// slow file then fails naming that file, instead of every other device failing first at the next collective with
    /// a time-out that names no file. Default <see cref="DefaultTimeoutSeconds"/>.
    /// </summary>
    public double TimeoutSeconds { get; init; } = DefaultTimeoutSeconds;

    /// <summary>30 s: half the default collective time-out, and still far more than one batch of any sane data set needs.</summary>
    public const double DefaultTimeoutSeconds = 30;

    /// <summary>A day: longer is no time-out at all, and the wait takes whole milliseconds as a 32-bit count.</summary>
    public const double MaxTimeoutSeconds = 86_400;

    /// <summary>
    /// For a CUDA device: batches are collated into page-locked host memory on the loader's workers,
    /// so <see cref="TaskBatch.CopyTo"/> is an asynchronous copy. Needs CUDA (the driver allocates the memory).
    /// </summary>
    public bool PinMemory { get; init; }

    /// <summary>Receives one line per skipped sample (called on the thread that calls Get).</summary>
    public Action<string>? Logger { get; init; }

    public LoaderOptions Validate()
    {
        if (NumWorkers < 1)
        {
            throw new ArgumentException($"NumWorkers must be at least 1, got {NumWorkers}");
        }
        if (PrefetchDepth < 1)
        {
            throw new ArgumentException($"PrefetchDepth must be at least 1, got {PrefetchDepth}");
        }
        if (MaxSkipAttempts < 1)
        {
            throw new ArgumentException($"MaxSkipAttempts must be at least 1, got {MaxSkipAttempts}");
        }
        // Written so NaN fails too; infinity would only fail later, inside Get, as an overflow.
        if (!(TimeoutSeconds > 0 && TimeoutSeconds <= MaxTimeoutSeconds))
        {
            throw new ArgumentException($"TimeoutSeconds must be in (0, {MaxTimeoutSeconds}], got {TimeoutSeconds}");
        }
        if (PinMemory && !TorchSharp.torch.cuda.is_available())
        {
            throw new ArgumentException("PinMemory needs CUDA (page-locked host memory comes from the CUDA driver), and this process has none");
        }
        return this;
    }
}
