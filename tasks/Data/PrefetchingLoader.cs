using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>
/// One device's loader for one task: background workers decode and augment, and the next step's batch is
/// prepared ahead when the caller hints it. The caller owns every <see cref="TaskBatch"/> it gets.
/// </summary>
public sealed class PrefetchingLoader : IDisposable
{
    private readonly ITaskDataset dataset;
    private readonly SampleProducer producer;
    private readonly LoaderOptions options;
    private readonly BlockingCollection<(PendingBatch Batch, int Position)> jobs = [];
    private readonly Thread[] workers;
    private readonly Lock gate = new();
    private PendingBatch? prefetched;
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

    /// <summary>Starts decoding the batch of (<paramref name="step"/>, <paramref name="indices"/>) in the background, replacing any older hint.</summary>
    public void Prefetch(long step, IReadOnlyList<long> indices)
    {
        CheckIndices(indices);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (prefetched is not null && prefetched.Matches(step, indices))
            {
                return;
            }
            Abandon(prefetched);
            prefetched = Submit(step, indices);
        }
    }

    /// <summary>
    /// The batch of (<paramref name="step"/>, <paramref name="indices"/>): the prefetched one when the hint
    /// matched, else decoded now. Bad samples throw a <see cref="DataFormatException"/> naming the file (unless
    /// skipped); a batch not ready within the time-out throws a <see cref="TimeoutException"/> naming the file waited on.
    /// </summary>
    public TaskBatch Get(long step, IReadOnlyList<long> indices)
    {
        CheckIndices(indices);
        PendingBatch batch;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (prefetched is not null && prefetched.Matches(step, indices))
            {
                batch = prefetched;
                PrefetchHits++;
            }
            else
            {
                Abandon(prefetched);
                batch = Submit(step, indices);
                PrefetchMisses++;
            }
            prefetched = null;
        }
        if (!batch.Wait(TimeSpan.FromSeconds(options.TimeoutSeconds)))
        {
            batch.Cancel();
            var waiting = Array.FindIndex(batch.Finished, f => !f);
            var index = batch.Indices[Math.Max(waiting, 0)];
            throw new TimeoutException(
                $"loader {dataset.Name}: batch of step {step} not ready after {options.TimeoutSeconds} s " +
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
        return BatchCollator.Collate(batch.Results!);
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
            Abandon(prefetched);
            prefetched = null;
        }
        jobs.CompleteAdding();
        foreach (var worker in workers)
        {
            // Workers are background threads: one stuck in a hung read must not keep Dispose (or the process) waiting.
            worker.Join(TimeSpan.FromSeconds(5));
        }
        jobs.Dispose();
    }

    private PendingBatch Submit(long step, IReadOnlyList<long> indices)
    {
        var batch = new PendingBatch(step, [.. indices]);
        for (var position = 0; position < indices.Count; position++)
        {
            jobs.Add((batch, position));
        }
        return batch;
    }

    private static void Abandon(PendingBatch? batch) => batch?.Cancel();

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
        foreach (var (batch, position) in jobs.GetConsumingEnumerable())
        {
            if (!batch.Cancelled)
            {
                try
                {
                    batch.Results[position] = producer.Produce(batch.Step, position, batch.Indices[position], batch.Skips[position]);
                }
                catch (Exception e)
                {
                    batch.Errors[position] = e;
                }
            }
            batch.Complete(position);
        }
    }
}
