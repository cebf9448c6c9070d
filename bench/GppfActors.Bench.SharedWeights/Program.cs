using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GppfActors.Actors.Devices;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Collectives;
using GppfActors.Model.Routing;
using GppfActors.Model.Training;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Synthetic;

// Virtual devices of one process sharing one copy of the weights (train.share_weights=true)
// against a replica each (false): peak resident memory and step time of paper-r50 (ResNet-50,
// two units per lego layer, its eight heads, activation checkpointing as in the preset) with the
// inputs reduced to 64 px (classification) / 128 px (dense tasks) and batches of 4 / 2, on the
// synthetic data set, through the same workloads the device actors run (TaskWorkloadFactory,
// TaskWorkload.Step, an in-process group of K devices). One child process per (K, mode), so each
// peak is its own; a child whose resident memory passes --max-rss-gib stops itself (rather than
// letting the kernel's OOM killer pick a victim on a shared machine) and is reported as not fitting.
//
//   dotnet run -c Release --project bench/GppfActors.Bench.SharedWeights [-- --devices 1,2,4,8 --steps 3 --max-rss-gib 20]
var options = Options.Parse(args);
if (options.Child)
{
    return Child.Run(options);
}

string data = options.Data ?? Path.Combine(Path.GetTempPath(), "gppf-bench-shared-weights-data");
if (!File.Exists(Path.Combine(data, SynthLayout.ManifestFile)))
{
    Console.WriteLine($"generating the synthetic data set in {data}");
    SyntheticDatasetWriter.Write(data, new SynthOptions { Seed = 1, Size = SynthSize.Small });
}
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {MemoryGiB():0.0} GiB, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");
Console.WriteLine($"paper-r50, inputs 64/128 px, batches 4/2; per run, warm-up steps until every device ran every task once, then {options.Steps} measured steps; cap {options.MaxRssGiB} GiB");

var results = new List<Result>();
foreach (int k in options.Devices)
{
    foreach (var mode in options.Modes)
    {
        var result = RunChild(k, mode);
        results.Add(result);
        Console.WriteLine($"{k} device(s), {mode}: {result.Status}, peak {result.PeakRss / Math.Pow(2, 30):0.00} GiB, step {result.StepSeconds:0.00} s");
    }
}

Console.WriteLine();
var first = results.Where(r => r.Status == "ok").GroupBy(r => r.Mode).ToDictionary(g => g.Key, g => g.MinBy(r => r.Devices)!);
Console.WriteLine("| devices | mode | peak resident (GiB) | per device beyond the first (GiB) | median step, slowest device (s) | status |");
Console.WriteLine("|---|---|---|---|---|---|");
foreach (var r in results)
{
    string perDevice = r.Status == "ok" && first.TryGetValue(r.Mode, out var f) && r.Devices > f.Devices
        ? ((r.PeakRss - f.PeakRss) / (double)(r.Devices - f.Devices) / Math.Pow(2, 30)).ToString("0.00", CultureInfo.InvariantCulture) : "";
    string peak = r.PeakRss > 0 ? (r.PeakRss / Math.Pow(2, 30)).ToString("0.00", CultureInfo.InvariantCulture) : "";
    string step = r.StepSeconds > 0 ? r.StepSeconds.ToString("0.00", CultureInfo.InvariantCulture) : "";
    Console.WriteLine($"| {r.Devices} | {r.Mode} | {peak} | {perDevice} | {step} | {r.Status} |");
}
if (results.FirstOrDefault(r => r.WeightBytes > 0) is { } any)
{
    Console.WriteLine();
    Console.WriteLine($"one copy of the model: weights and buffers {any.WeightBytes / Math.Pow(2, 30):0.00} GiB ({any.Parameters / 1e6:0.0} M parameters), optimizer state {any.OptimizerBytes / Math.Pow(2, 30):0.00} GiB");
}
return 0;

Result RunChild(int k, string mode)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!)
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
    };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
    {
        start.ArgumentList.Add(typeof(Options).Assembly.Location);     // run as `dotnet gppf-bench-shared-weights.dll`
    }
    foreach (var a in new[] { "--child", "--devices", k.ToString(CultureInfo.InvariantCulture), "--modes", mode, "--steps", options.Steps.ToString(CultureInfo.InvariantCulture),
        "--max-rss-gib", options.MaxRssGiB.ToString(CultureInfo.InvariantCulture), "--data", data })
    {
        start.ArgumentList.Add(a);
    }
    using var process = Process.Start(start)!;
    var stderr = process.StandardError.ReadToEndAsync();
    string? resultLine = null;
    string? exceeded = null;
    while (process.StandardOutput.ReadLine() is { } line)
    {
        if (line.StartsWith("RESULT ", StringComparison.Ordinal))
        {
            resultLine = line["RESULT ".Length..];
        }
        else if (line.StartsWith("EXCEEDED ", StringComparison.Ordinal))
        {
            exceeded = line["EXCEEDED ".Length..];
        }
    }
    process.WaitForExit();
    if (resultLine is not null && process.ExitCode == 0)
    {
        return JsonSerializer.Deserialize<Result>(resultLine)!;
    }
    string status = exceeded is not null ? $"does not fit: passed {options.MaxRssGiB} GiB {exceeded}"
        : process.ExitCode == 137 ? "killed (SIGKILL: out of memory)"
        : $"failed (exit {process.ExitCode}): {stderr.Result.Split('\n').FirstOrDefault(l => l.Length > 0)}";
    return new Result(k, mode, status, 0, 0, 0, 0, 0);
}

static double MemoryGiB()
{
    var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
}

/// <summary>One measurement: K devices in one mode.</summary>
internal sealed record Result(int Devices, string Mode, string Status, long PeakRss, double StepSeconds, long WeightBytes, long OptimizerBytes, long Parameters);

/// <summary>Command-line options (the parent's; a child gets one device count and one mode).</summary>
internal sealed record Options(bool Child, int[] Devices, string[] Modes, int Steps, double MaxRssGiB, string? Data)
{
    public static Options Parse(string[] args)
    {
        var o = new Options(false, [1, 2, 4, 8], ["shared", "replica"], 3, 20, null);
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--child" => o with { Child = true },
                "--devices" => o with { Devices = Value().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() },
                "--modes" => o with { Modes = Value().Split(',') },
                "--steps" => o with { Steps = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--max-rss-gib" => o with { MaxRssGiB = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--data" => o with { Data = Value() },
                _ => throw new ArgumentException($"unknown option {args[i]} (--devices 1,2,4,8, --modes shared,replica, --steps N, --max-rss-gib G, --data DIR)"),
            };
        }
        if (o.Steps < 1 || o.Modes.Any(m => m is not ("shared" or "replica")))
        {
            throw new ArgumentException("--steps must be >= 1 and --modes a list of shared, replica");
        }
        return o;
    }
}

/// <summary>One measurement in its own process.</summary>
internal static class Child
{
    public static int Run(Options options)
    {
        int k = options.Devices.Single();
        string mode = options.Modes.Single();
        long cap = (long)(options.MaxRssGiB * Math.Pow(2, 30));
        string phase = "start";
        var watchdog = new Thread(() =>
        {
            while (true)
            {
                long rss = ProcessMemory.Read("VmRSS");
                if (rss > cap)
                {
                    Console.WriteLine($"EXCEEDED ({rss / Math.Pow(2, 30):0.0} GiB resident) during {phase}");
                    Console.Out.Flush();
                    Environment.Exit(3);
                }
                Thread.Sleep(10);
            }
        })
        { IsBackground = true };
        watchdog.Start();

        var overrides = new List<string>
        {
            $"data.root={options.Data}", "data.generate_if_missing=false", "data.workers=1",
            $"train.devices=cpu:{k}", $"train.share_weights={(mode == "shared" ? "true" : "false")}",
        };
        var (preset, _) = JobConfigLoader.Load("paper-r50", []);
        foreach (var task in preset.Tasks)
        {
            var (dataset, size, batch) = task.Family switch
            {
                TaskFamily.Classification => ("image-folder:classification", 64, 4),
                TaskFamily.Detection => ("coco:detection", 128, 2),
                _ => ("mask-folder:segmentation", 128, 2),
            };
            overrides.AddRange([$"tasks.{task.Name}.dataset={dataset}", $"tasks.{task.Name}.input_size.height={size}",
                $"tasks.{task.Name}.input_size.width={size}", $"tasks.{task.Name}.batch_size={batch}"]);
        }
        var (job, _) = JobConfigLoader.Load("paper-r50", overrides);
        var datasets = JobDatasets.Open(job);
        var factory = new TaskWorkloadFactory(job, datasets, _ => { });
        var devices = DeviceId.ParseList(job.Train.Devices);
        factory.PrepareProcess(devices);

        var tasks = job.Tasks.Select(t => t.Name).ToArray();
        var hub = new InProcessCollectiveHub(1, k, TimeSpan.FromMinutes(30));
        // Warm-up: every device runs every task once (the first step of a task on a device builds
        // its gradients and the optimizer touches its state), then options.Steps measured steps.
        int warmup = (tasks.Length + k - 1) / k;
        int total = warmup + options.Steps;
        var stepSeconds = new double[k, total];
        long weightBytes = 0, optimizerBytes = 0, parameters = 0;
        var errors = new Exception?[k];
        var threads = Enumerable.Range(0, k).Select(rank => new Thread(() =>
        {
            try
            {
                using var workload = (TaskWorkload)factory.Create(devices[rank]);
                using var group = hub.Join(rank);
                workload.Replica.AlignFrom(group);
                if (rank == 0)
                {
                    phase = "training";
                    var network = workload.Replica.Network;
                    weightBytes = network.parameters().Concat(network.buffers()).Sum(t => t.numel() * t.element_size());
                    parameters = network.parameters().Sum(p => p.numel());
                    optimizerBytes = workload.Replica.Optimizer.StateViews().Values.Sum(t => t.numel() * t.element_size());
                }
                for (int step = 0; step < total; step++)
                {
                    string task = tasks[(step * k + rank) % tasks.Length];
                    var active = Enumerable.Range(0, k).Select(r => tasks[(step * k + r) % tasks.Length]).Distinct().ToArray();
                    int batch = job.Tasks.Single(t => t.Name == task).BatchSize;
                    long count = datasets.Train[task].Count;
                    var indices = Enumerable.Range(0, batch).Select(i => ((long)(step * k + rank) * batch + i) % count).ToArray();
                    var plan = new StepPlan(step, task, active, RoutingMode.Soft, 5.0, 0.01, 1);
                    group.Barrier();
                    var clock = Stopwatch.StartNew();
                    workload.Step(group, plan, indices, null);
                    stepSeconds[rank, step] = clock.Elapsed.TotalSeconds;
                }
                group.Barrier();
            }
            catch (Exception e)
            {
                errors[rank] = e;
                hub.Abort($"rank {rank}: {e.Message}");
            }
        })
        { Name = $"device-{rank}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (errors.FirstOrDefault(e => e is not null) is { } error)
        {
            Console.Error.WriteLine(error);
            return 1;
        }
        // The measured steps; each the slowest device's time.
        var perStep = Enumerable.Range(warmup, options.Steps).Select(s => Enumerable.Range(0, k).Max(r => stepSeconds[r, s])).Order().ToArray();
        double median = perStep[perStep.Length / 2];
        var result = new Result(k, mode, "ok", ProcessMemory.Read("VmHWM"), median, weightBytes, optimizerBytes, parameters);
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
        return 0;
    }
}
