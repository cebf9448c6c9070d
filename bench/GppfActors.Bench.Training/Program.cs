using System.Diagnostics;
using System.Globalization;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Sampling;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Node;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Collectives;
using GppfActors.Model.Schedules;
using GppfActors.Model.Training;
using GppfActors.Tasks.Synthetic;
using static TorchSharp.torch;

// Benchmarks of the training system on the cpu-small recipe, measured side by side in one process:
//   overhead: the actor system vs a plain loop of the same device steps and collectives;
//   stall:    step time with background checkpoints every C steps vs none (usage: stall STEPS C);
//   memory:   live tensors and RSS over a long actor run;
//   loader:   images/s one task loader decodes and augments (default worker count) vs what training consumes per device;
//   precision: step time and late training loss with train.precision=bf16 vs fp32 (usage: precision STEPS).
string mode = args.Length > 0 ? args[0] : "all";
int steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
int checkpointEvery = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;   // the cpu-small recipe's
string work = Path.Combine(Path.GetTempPath(), "gppf-bench-training");
string data = Path.Combine(work, "data");
if (!File.Exists(Path.Combine(data, SynthLayout.ManifestFile)))
{
    SyntheticDatasetWriter.Write(data, new SynthOptions { Seed = 7, Size = SynthSize.Small });
}
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}; job cpu-small, 2 virtual devices, {steps} steps per measurement");

(JobConfig Job, string Json) Job(string name, int checkpointEvery, long maxSteps, params string[] overrides) => JobConfigLoader.Load("cpu-small",
[
    $"name={name}", $"data.root={data}", "data.generate_if_missing=false", $"checkpoint.dir={Path.Combine(work, name)}",
    $"checkpoint.every_steps={checkpointEvery}", "checkpoint.keep_last=2", $"train.max_steps={maxSteps}", "eval.every_steps=0", "eval.batches=1",
    .. overrides,
]);

async Task<(double SecondsPerStep, List<(long Step, long Tensors, long RssBytes)> Memory)> ActorRun(string name, int checkpointEvery, long maxSteps, int warmup, int sampleEvery,
    string[]? overrides = null, Action<TrainingProgress>? onProgress = null)
{
    if (Directory.Exists(Path.Combine(work, name)))
    {
        // A pooled SQLite connection of the previous run would keep reading the deleted journal.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path.Combine(work, name), true);
    }
    var (job, json) = Job(name, checkpointEvery, maxSteps, overrides ?? []);
    var clock = Stopwatch.StartNew();
    double start = 0, end = 0;
    var memory = new List<(long, long, long)>();
    await using var node = await TrainingNode.StartAsync(job, json, ResumeOptions.Fresh, e =>
    {
        if (e is TrainingProgress p)
        {
            onProgress?.Invoke(p);
            if (p.Step == warmup - 1)
            {
                start = clock.Elapsed.TotalSeconds;
            }
            if (p.Step == maxSteps - 1)
            {
                end = clock.Elapsed.TotalSeconds;
            }
            if ((p.Step + 1) % sampleEvery == 0)
            {
                memory.Add((p.Step + 1, Tensor.TotalCount, Process.GetCurrentProcess().WorkingSet64));
            }
        }
    }, _ => { });
    var last = await node.Completion;
    if (last is TrainingFailed failed)
    {
        throw new InvalidOperationException(failed.Reason);
    }
    return ((end - start) / (maxSteps - warmup), memory);
}

// The same device steps without actors: one thread per device, the same sampler draws, schedule and group.
double PlainLoop(int total, int warmup)
{
    var (job, _) = Job("plain", 0, total);
    var devices = DeviceId.ParseList("cpu:2");
    set_num_threads(Math.Max(1, Environment.ProcessorCount / devices.Count));
    var datasets = JobDatasets.Open(job);
    var sampler = new TaskSamplerState(job.Tasks.Select(t => new SampledTask(t.Name, t.SamplingWeight, datasets.Train[t.Name].Count, t.BatchSize)).ToArray(), job.Seed, job.Sampling.Mode);
    var lr = new CosineWarmupSchedule(job.Optimizer.Lr, job.Optimizer.WarmupSteps, job.Train.MaxSteps, job.Optimizer.MinLr);
    var tau = new TemperatureSchedule(job.Routing.Tau0, job.Routing.TauMin, job.Routing.TauDecaySteps);
    var plans = new List<(string[] Tasks, long[][] Indices)>();
    for (long s = 0; s < total + 1; s++)
    {
        var tasks = sampler.DrawTasks(s, devices.Count);
        plans.Add((tasks, sampler.TakeIndices(tasks)));
    }
    var hub = new InProcessCollectiveHub(1, devices.Count, TimeSpan.FromSeconds(60));
    double start = 0, end = 0;
    var threads = devices.Select((device, rank) => new Thread(() =>
    {
        using var workload = new TaskWorkload(job, datasets, device, _ => { });
        using var group = hub.Join(rank);
        workload.Replica.AlignFrom(group);
        var clock = Stopwatch.StartNew();
        for (int s = 0; s < total; s++)
        {
            if (s == warmup && rank == 0)
            {
                start = clock.Elapsed.TotalSeconds;
            }
            var (tasks, indices) = plans[s];
            var plan = new StepPlan(s, tasks[rank], tasks.Distinct().ToArray(), job.Routing.Mode, tau.At(s), lr.At(s), job.Seed) { SyncBatchNorm = job.SyncBatchNorm };
            var next = new NextStepHint(s + 1, plans[s + 1].Tasks[rank], plans[s + 1].Indices[rank]);
            workload.Step(group, plan, indices[rank], next);
        }
        if (rank == 0)
        {
            end = clock.Elapsed.TotalSeconds;
        }
    })).ToList();
    threads.ForEach(t => t.Start());
    threads.ForEach(t => t.Join());
    return (end - start) / (total - warmup);
}

double Median(IEnumerable<double> xs)
{
    var s = xs.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

const int Warmup = 20;
if (mode is "all" or "overhead" or "stall")
{
    var plain = new List<double>();
    var actor = new List<double>();
    var withCheckpoints = new List<double>();
    for (int round = 0; round < 3; round++)
    {
        if (mode is "all" or "overhead")
        {
            plain.Add(PlainLoop(steps + Warmup, Warmup));
        }
        actor.Add((await ActorRun("actor", 0, steps + Warmup, Warmup, 1_000_000)).SecondsPerStep);
        if (mode is "all" or "stall")
        {
            withCheckpoints.Add((await ActorRun("checkpointed", checkpointEvery, steps + Warmup, Warmup, 1_000_000)).SecondsPerStep);
        }
        Console.WriteLine($"round {round + 1}: plain {(plain.Count > 0 ? plain[^1] * 1e3 : double.NaN):0.0} ms/step, actors {actor[^1] * 1e3:0.0} ms/step, " +
            $"actors + checkpoint every {checkpointEvery} steps {(withCheckpoints.Count > 0 ? withCheckpoints[^1] * 1e3 : double.NaN):0.0} ms/step");
    }
    Console.WriteLine();
    Console.WriteLine("| measurement | median ms/step | ratio | goal |");
    Console.WriteLine("|---|---|---|---|");
    if (plain.Count > 0)
    {
        Console.WriteLine($"| plain loop, same steps and collectives | {Median(plain) * 1e3:0.0} | 1.00 | |");
        Console.WriteLine($"| actor system | {Median(actor) * 1e3:0.0} | {Median(actor) / Median(plain):0.000} x plain | <= 1.03 |");
    }
    if (withCheckpoints.Count > 0)
    {
        Console.WriteLine($"| actor system, no checkpoints | {Median(actor) * 1e3:0.0} | 1.00 | |");
        Console.WriteLine($"| actor system, checkpoint every {checkpointEvery} steps | {Median(withCheckpoints) * 1e3:0.0} | {Median(withCheckpoints) / Median(actor):0.000} x none | <= 1.05 |");
    }
}
if (mode is "loader")
{
    var (job, _) = Job("loader", 0, steps + Warmup);
    var produced = new Dictionary<string, double>();
    foreach (var task in job.Tasks)
    {
        using var loader = new GppfActors.Tasks.Data.PrefetchingLoader(TaskDatasets.Open(task, job.Data.Root, "train"), TaskDatasets.Training(task),
            new GppfActors.Tasks.Data.LoaderOptions { Seed = 1, NumWorkers = GppfActors.Tasks.Data.LoaderOptions.DefaultNumWorkers });
        int count = loader.Dataset.Count;
        long[] Indices(long b) => Enumerable.Range(0, task.BatchSize).Select(i => (b * task.BatchSize + i) % count).ToArray();
        var clock = Stopwatch.StartNew();
        long images = 0;
        loader.Prefetch(0, Indices(0));
        for (long b = 0; clock.Elapsed.TotalSeconds < 3; b++)
        {
            loader.Prefetch(b + 1, Indices(b + 1));
            using var batch = loader.Get(b, Indices(b));
            images += batch.Count;
        }
        produced[task.Name] = images / clock.Elapsed.TotalSeconds;
    }
    var consumed = new Dictionary<string, long>();
    var timer = Stopwatch.StartNew();
    double start = 0, end = 0;
    if (Directory.Exists(Path.Combine(work, "loader")))
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path.Combine(work, "loader"), true);
    }
    var (trainJob, trainJson) = Job("loader", 0, steps + Warmup);
    await using (var node = await TrainingNode.StartAsync(trainJob, trainJson, ResumeOptions.Fresh, e =>
    {
        if (e is TrainingProgress p)
        {
            if (p.Step == Warmup - 1)
            {
                start = timer.Elapsed.TotalSeconds;
            }
            if (p.Step >= Warmup)
            {
                foreach (var (task, n) in p.SamplesPerTask)
                {
                    consumed[task] = consumed.GetValueOrDefault(task) + n;
                }
                end = timer.Elapsed.TotalSeconds;
            }
        }
    }, _ => { }))
    {
        await node.Completion;
    }
    int devices = DeviceId.ParseList(trainJob.Train.Devices).Count;
    Console.WriteLine($"default loader workers: {GppfActors.Tasks.Data.LoaderOptions.DefaultNumWorkers}; training: {devices} devices, {steps} steps");
    Console.WriteLine("| task | loader img/s (one loader) | training consumes img/s per device | ratio | goal |");
    Console.WriteLine("|---|---|---|---|---|");
    foreach (var task in trainJob.Tasks)
    {
        double perDevice = consumed.GetValueOrDefault(task.Name) / (end - start) / devices;
        Console.WriteLine($"| {task.Name} ({task.InputSize}) | {produced[task.Name]:0} | {perDevice:0.0} | {produced[task.Name] / perDevice:0.0}x | >= 3x |");
    }
}
if (mode is "memory")
{
    var (perStep, memory) = await ActorRun("memory", 100, steps, Warmup, 100);
    Console.WriteLine($"{steps} steps, {perStep * 1e3:0.0} ms/step");
    Console.WriteLine("| step | live tensors | RSS (MiB) |");
    Console.WriteLine("|---|---|---|");
    foreach (var (step, tensors, rss) in memory)
    {
        Console.WriteLine($"| {step} | {tensors} | {rss / 1048576.0:0} |");
    }
}
if (mode is "precision")
{
    // Alternating runs, so that a change in the machine's load falls on both; the loss is each
    // task's mean over the last quarter of the steps (the same draws and data in both precisions).
    var seconds = new Dictionary<string, List<double>> { ["fp32"] = [], ["bf16"] = [] };
    var lateLoss = new Dictionary<string, Dictionary<string, List<double>>> { ["fp32"] = [], ["bf16"] = [] };
    long total = steps + Warmup;
    for (int round = 0; round < 3; round++)
    {
        foreach (var precision in new[] { "fp32", "bf16" })
        {
            var losses = lateLoss[precision];
            var (perStep, _) = await ActorRun("precision-" + precision, 0, total, Warmup, 1_000_000, [$"train.precision={precision}"], p =>
            {
                if (round == 0 && p.Step >= total - total / 4)
                {
                    foreach (var (task, loss) in p.LossPerTask)
                    {
                        (losses.TryGetValue(task, out var l) ? l : losses[task] = []).Add(loss);
                    }
                }
            });
            seconds[precision].Add(perStep);
            Console.WriteLine($"round {round + 1}: {precision} {perStep * 1e3:0.0} ms/step");
        }
    }
    Console.WriteLine();
    Console.WriteLine("| precision | median ms/step | ratio | " + string.Join(" | ", lateLoss["fp32"].Keys.Select(t => $"{t} loss, last {total / 4} steps")) + " |");
    Console.WriteLine("|---|---|---|" + string.Concat(lateLoss["fp32"].Keys.Select(_ => "---|")));
    foreach (var precision in new[] { "fp32", "bf16" })
    {
        Console.WriteLine($"| {precision} | {Median(seconds[precision]) * 1e3:0.0} | {Median(seconds[precision]) / Median(seconds["fp32"]):0.000} x fp32 | " +
            string.Join(" | ", lateLoss["fp32"].Keys.Select(t => $"{lateLoss[precision][t].Average():0.0000}")) + " |");
    }
}
