using System.Diagnostics;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Synthetic;

namespace GppfActors.Bench.Loader;

/// <summary>
/// Measures how many images per second each task's loader decodes and augments, with the next step always
/// prefetched as in training and a consumer that does nothing but dispose, so the loader is the bottleneck.
/// </summary>
internal static class LoaderBenchmark
{
    private const int WarmupSteps = 3;

    public static void Run(BenchOptions options, TextWriter output)
    {
        var manifest = SynthManifest.Read(options.DataDir);
        var workerCounts = new[] { 1, 2, LoaderOptions.DefaultNumWorkers }.Distinct().ToArray();
        output.WriteLine($"loader throughput: {options.DataDir} (seed {manifest.Seed}, {manifest.Size}), train split, batch {options.BatchSize}, " +
            $"{options.SecondsPerRun:F0} s per run, {Environment.ProcessorCount} cores, default workers {LoaderOptions.DefaultNumWorkers}");
        output.WriteLine();
        output.WriteLine($"{"task",-15} {"input",-7} {"workers",7} {"batches",8} {"images/s",10} {"ms/batch",9}");
        foreach (var task in Enum.GetValues<SynthTask>().Where(t => manifest.Tasks.Any(m => m.Name == SynthLayout.TaskName(t))))
        {
            var dataset = SynthDatasets.Open(options.DataDir, task, "train");
            var augmentation = SynthDatasets.TrainAugmentation(task, manifest);
            foreach (var workers in workerCounts)
            {
                var (batches, seconds) = Measure(dataset, augmentation, workers, options);
                var label = workers == LoaderOptions.DefaultNumWorkers ? $"{workers}*" : $"{workers}";
                output.WriteLine($"{SynthLayout.TaskName(task),-15} {$"{augmentation.OutputWidth}x{augmentation.OutputHeight}",-7} {label,7} {batches,8} " +
                    $"{batches * options.BatchSize / seconds,10:F0} {seconds * 1000 / batches,9:F1}");
            }
        }
        output.WriteLine();
        output.WriteLine("* = default worker count, min(4, cores)");
    }

    private static (int Batches, double Seconds) Measure(ITaskDataset dataset, AugmentationOptions augmentation, int workers, BenchOptions options)
    {
        using var loader = new PrefetchingLoader(dataset, augmentation, new LoaderOptions { Seed = 1, NumWorkers = workers, TimeoutSeconds = 60 });
        long[] IndicesOf(long step)
        {
            var random = SeedMixer.CreateRandom(1, step);
            return [.. Enumerable.Range(0, options.BatchSize).Select(_ => (long)random.Next(dataset.Count))];
        }
        // As a training loop would: two steps hinted ahead (the default PrefetchDepth), so the workers keep
        // decoding while this thread collates tensors.
        var step = 0L;
        void RunStep()
        {
            var batch = loader.Get(step, IndicesOf(step));
            loader.Prefetch(step + 2, IndicesOf(step + 2));
            step++;
            batch.Dispose();
        }
        loader.Prefetch(0, IndicesOf(0));
        loader.Prefetch(1, IndicesOf(1));
        for (var i = 0; i < WarmupSteps; i++)
        {
            RunStep();
        }
        var clock = Stopwatch.StartNew();
        var batches = 0;
        while (clock.Elapsed.TotalSeconds < options.SecondsPerRun)
        {
            RunStep();
            batches++;
        }
        return (batches, clock.Elapsed.TotalSeconds);
    }
}
