using System.Diagnostics;
using System.Runtime.ExceptionServices;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>
/// One device's loader for one task: background workers decode and augment, and the batches of coming steps
/// are prepared ahead when the caller hints them. The caller owns every <see cref="TaskBatch"/> it gets.
/// </summary>
public sealed class PrefetchingLoader : IDisposable
{
    private readonly ITaskDataset dataset;
    private readonly SampleProducer producer;
    private readonly LoaderOptions options;
    private readonly LoaderWorkQueue<(PendingBatch Batch, int Position)> jobs = new();
    private readonly Thread[] workers;
    private readonly Lock gate = new();
    private readonly List<PendingBatch> prefetched = [];
    private long skippedCount;
    private bool disposed;

    public PrefetchingLoader(ITaskDataset dataset, AugmentationOptions augmentation, LoaderOptions options)
    {
        this.dataset = dataset;
        this.options = options.Validate();
        producer = new SampleProducer(dataset, augmentation, options);
        // Dedicated threads rather than the thread pool: decoding must not starve (or be starved by) the
        // pool work of the actor system and the collectives running beside it.
        workers = [.. Enumerable.Range(0, options.NumWorkers).Select(i => new Thread(WorkLoop)
        {
            IsBackground = true,
            Name = $"loader-{dataset.Name}-{i}",
        })];
        foreach (var worker in workers)
        {
            worker.Start();
        }
    }

    public ITaskDataset Dataset => dataset;

    public int NumWorkers => workers.Length;

    /// <summary>Bad samples replaced so far in batches handed out (only with <see cref="LoaderOptions.SkipBadSamples"/>).</summary>
    public long SkippedCount => Interlocked.Read(ref skippedCount);

    /// <summary>Batches served from a prefetch whose hint matched.</summary>
    public long PrefetchHits { get; private set; }

    /// <summary>Batches decoded on demand because no matching prefetch existed.</summary>
    public long PrefetchMisses { get; private set; }

    /// <summary>Batches hinted for coming steps and not yet taken (decoded or still decoding).</summary>
    public int PrefetchedBatches
    {
        get
        {
            lock (gate)
            {
                return prefetched.Count;
            }
        }
    }

    /// <summary>Hinted batches already collated and waiting to be taken.</summary>
    internal int ReadyBatches
    {
        get
        {
            lock (gate)
            {
                return prefetched.Count(p => p.IsSealed);
            }
        }
    }

    /// <summary>
    /// Starts decoding the batch of (<paramref name="step"/>, <paramref name="indices"/>) in the background.
    /// A new hint for an already hinted step replaces it; beyond <see cref="LoaderOptions.PrefetchDepth"/> hints the oldest is dropped.
    /// </summary>
    public void Prefetch(long step, IReadOnlyList<long> indices) => Prefetch(step, options.Rank, indices);

    /// <summary>
    /// Like <see cref="Prefetch(long, IReadOnlyList{long})"/>, augmenting for <paramref name="rank"/>:
    /// a batch's randomness comes from (seed, step, rank, sample, position), so the step's rank, not
    /// the device, decides it, and a step drawn again for the same ranks is the same step.
    /// </summary>
    public void Prefetch(long step, int rank, IReadOnlyList<long> indices)
    {
        CheckIndices(indices);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (prefetched.Any(p => p.Matches(step, rank, indices)))
            {
                return;
            }
            Drop(p => p.Step == step);
            prefetched.Add(Submit(step, rank, indices, urgent: false));
            while (prefetched.Count > options.PrefetchDepth)
            {
                prefetched[0].Cancel();
                prefetched.RemoveAt(0);
            }
        }
    }

    /// <summary>
    /// The batch of (<paramref name="step"/>, <paramref name="indices"/>): the prefetched one when a hint
    /// matched, else decoded now (ahead of any prefetch work). Bad samples throw a <see cref="DataFormatException"/>
    /// naming the file (unless skipped); a batch not ready within the time-out throws a <see cref="TimeoutException"/>
    /// naming the file waited on.
    /// </summary>
    public TaskBatch Get(long step, IReadOnlyList<long> indices) => Get(step, options.Rank, indices);

    /// <summary>The batch of (<paramref name="step"/>, <paramref name="rank"/>, <paramref name="indices"/>); see <see cref="Get(long, IReadOnlyList{long})"/>.</summary>
    public TaskBatch Get(long step, int rank, IReadOnlyList<long> indices)
    {
        CheckIndices(indices);
        PendingBatch batch;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var match = prefetched.FirstOrDefault(p => p.Matches(step, rank, indices));
            // Hints for this step or earlier ones that did not match will never be collected; later steps' stay.
            Drop(p => p != match && p.Step <= step);
            if (match is not null)
            {
                prefetched.Remove(match);
                batch = match;
                PrefetchHits++;
            }
            else
            {
                batch = Submit(step, rank, indices, urgent: true);
                PrefetchMisses++;
            }
        }
        var waited = Stopwatch.StartNew();
        if (!batch.Wait(TimeSpan.FromSeconds(options.TimeoutSeconds)))
        {
            batch.Cancel();
            var waiting = Array.FindIndex(batch.Finished, f => !f);
            var index = batch.Indices[Math.Max(waiting, 0)];
            throw new TimeoutException(
                $"loader {dataset.Name}: batch of step {step} not ready after {waited.Elapsed.TotalSeconds:0.###} s (time-out {options.TimeoutSeconds} s) " +
                $"({batch.Finished.Count(f => f)} of {batch.Indices.Length} samples done); waiting on sample {index} ({dataset.SourceOf(index)})");
        }
        var failed = Array.FindIndex(batch.Errors, e => e is not null);
        if (failed >= 0)
        {
            // Keep the worker's stack trace: it shows where in the decoder the file went wrong.
            ExceptionDispatchInfo.Capture(batch.Errors[failed]!).Throw();
        }
        foreach (var skip in batch.Skips.SelectMany(s => s))
        {
            Interlocked.Increment(ref skippedCount);
            options.Logger?.Invoke($"loader {dataset.Name}: step {skip.Step}: skipped bad sample {skip.SampleIndex} (used {skip.ReplacedBy} instead): {skip.Reason}");
        }
        return batch.Take();
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            Drop(_ => true);
        }
        jobs.Complete();
        foreach (var worker in workers)
        {
            // Workers are background threads: one stuck in a hung read must not keep Dispose (or the process) waiting.
            worker.Join(TimeSpan.FromSeconds(5));
        }
    }

    private PendingBatch Submit(long step, int rank, IReadOnlyList<long> indices, bool urgent)
    {
        var batch = new PendingBatch(step, rank, [.. indices]);
        for (var position = 0; position < indices.Count; position++)
        {
            jobs.Add((batch, position), urgent);
        }
        return batch;
    }

    /// <summary>Cancels and forgets the hinted batches that match; workers then skip their remaining samples.</summary>
    private void Drop(Predicate<PendingBatch> which)
    {
        foreach (var batch in prefetched.Where(p => which(p)))
        {
            batch.Cancel();
        }
        prefetched.RemoveAll(which);
    }

    private void CheckIndices(IReadOnlyList<long> indices)
    {
        if (indices.Count == 0)
        {
            throw new ArgumentException("a batch needs at least one index", nameof(indices));
        }
        foreach (var i in indices)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(i, nameof(indices));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, dataset.Count, nameof(indices));
        }
    }

    private void WorkLoop()
    {
        while (jobs.TryTake(out var job))
        {
            var (batch, position) = job;
            if (!batch.Cancelled)
            {
                try
                {
                    batch.Results[position] = producer.Produce(batch.Step, batch.Rank, position, batch.Indices[position], batch.Skips[position]);
                }
                catch (Exception e)
                {
                    batch.Errors[position] = e;
                }
            }
            if (batch.Complete(position))
            {
                Seal(batch);
            }
        }
    }

    // The worker that finished a batch's last sample collates it (off the device's thread), and for a
    // CUDA device copies it into page-locked memory, so the device's copy is an asynchronous DMA.
    private void Seal(PendingBatch batch)
    {
        if (batch.Cancelled || batch.Errors.Any(e => e is not null))
        {
            batch.Seal(null, null);
            return;
        }
        TaskBatch? collated = null;
        try
        {
            collated = BatchCollator.Collate(batch.Results!);
            Array.Clear(batch.Results);     // the samples are in the batch's tensors now
            if (options.PinMemory)
            {
                var pinned = collated.Pinned();
                collated.Dispose();
                collated = pinned;
            }
            batch.Seal(collated, null);
        }
        catch (Exception e)
        {
            collated?.Dispose();
            batch.Seal(null, e);
        }
    }
}
