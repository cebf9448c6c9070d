using System.Diagnostics;
using System.Globalization;
using GppfActors.Collectives;
using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using GppfActors.Model.Training;
using static TorchSharp.torch;

// Activation checkpointing: peak memory and step time of the same training step with and without.
// Each measurement runs in a fresh child process (this program with --child SETTING), so one
// setting's freed-but-resident heap never hides another's peak; settings alternate round by round
// so drift of a shared machine hits all alike. Memory is the process's resident set (VmHWM, the
// kernel's peak, reset before the measured step): it counts what libtorch really allocates,
// including TorchSharp's per-node buffers and allocator slack, which a sum of tensor sizes would
// miss. A child prints one RESULT line; the parent prints medians and ratios against 'none'.
var options = CheckpointBenchOptions.Parse(args);
if (options.Child is { } child)
{
    return Child.Run(options, child);
}

Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, libtorch {__version__}");
Console.WriteLine($"config: backbone {options.Preset} N={options.Units}, {options.Mode} routing, batch {options.Batch}, image {options.ImageSize}x{options.ImageSize}, " +
    $"SyncBN in a group of 1, {options.Rounds} rounds x {options.Steps} timed steps, libtorch threads {options.Threads}");
var results = options.Settings.ToDictionary(s => s, _ => new List<ChildResult>());
for (int round = 0; round < options.Rounds; round++)
{
    foreach (var setting in options.Settings)
    {
        var r = RunChild(setting);
        results[setting].Add(r);
        Console.WriteLine($"round {round + 1} {setting}: step peak +{r.StepPeakBytes / 1048576.0:0} MiB, after forward +{r.ForwardPeakBytes / 1048576.0:0} MiB, " +
            $"step {r.WallSeconds * 1e3:0} ms wall, {r.CpuSeconds * 1e3:0} ms CPU");
    }
}

double Median(IEnumerable<double> xs)
{
    var s = xs.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

var none = results[options.Settings[0]];
double basePeak = Median(none.Select(r => (double)(r.StepPeakBytes - r.GradientBytes))), baseForward = Median(none.Select(r => (double)r.ForwardPeakBytes));
double baseWall = Median(none.Select(r => r.WallSeconds)), baseCpu = Median(none.Select(r => r.CpuSeconds));
Console.WriteLine();
Console.WriteLine("| setting | step peak over baseline (MiB) | less parameter gradients (MiB) | vs first | forward peak over baseline (MiB) | vs first | step wall (ms) | vs first | step CPU (ms) | vs first |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
foreach (var (setting, rs) in results)
{
    double peak = Median(rs.Select(r => (double)r.StepPeakBytes)), activations = Median(rs.Select(r => (double)(r.StepPeakBytes - r.GradientBytes))), forward = Median(rs.Select(r => (double)r.ForwardPeakBytes));
    double wall = Median(rs.Select(r => r.WallSeconds)), cpu = Median(rs.Select(r => r.CpuSeconds));
    Console.WriteLine($"| {setting} | {peak / 1048576:0} | {activations / 1048576:0} | {activations / basePeak:0.00} | {forward / 1048576:0} | {forward / baseForward:0.00} | " +
        $"{wall * 1e3:0} | {wall / baseWall:0.00} | {cpu * 1e3:0} | {cpu / baseCpu:0.00} |");
}
Console.WriteLine($"baseline resident set before the measured step (weights, optimizer state): {Median(none.Select(r => (double)r.BaselineBytes)) / 1048576:0} MiB; parameter gradients: {none[0].GradientBytes / 1048576.0:0} MiB");
return 0;

ChildResult RunChild(string setting)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in args.Append("--child").Append(setting))
    {
        start.ArgumentList.Add(a);
    }
    using var process = Process.Start(start)!;
    var stderr = process.StandardError.ReadToEndAsync();
    var output = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
        ?? throw new InvalidOperationException($"child {setting} exited with {process.ExitCode} and no result: {output} {stderr.Result}");
    return ChildResult.Parse(line);
}

/// <summary>What one child measured: resident-set growth over the baseline at the end of forward and over the whole step, and per-step times.</summary>
internal sealed record ChildResult(long BaselineBytes, long ForwardPeakBytes, long StepPeakBytes, long GradientBytes, double WallSeconds, double CpuSeconds)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"RESULT {BaselineBytes} {ForwardPeakBytes} {StepPeakBytes} {GradientBytes} {WallSeconds:R} {CpuSeconds:R}");

    public static ChildResult Parse(string line)
    {
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new(long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture),
            long.Parse(f[4], CultureInfo.InvariantCulture), double.Parse(f[5], CultureInfo.InvariantCulture), double.Parse(f[6], CultureInfo.InvariantCulture));
    }
}

/// <summary>One measurement: a replica with a 10-class head on a fixed random batch, SyncBN in a group of one.</summary>
internal static class Child
{
    public static int Run(CheckpointBenchOptions options, string setting)
    {
        set_num_threads(options.Threads);
        var config = BackboneConfig.FromPreset(options.Preset, options.Units) with { ActivationCheckpointing = ActivationCheckpointing.Parse(setting, options.Every) };
        var tasks = new[] { new TaskHeadSpec("cls", (c, g) => new ClassifierHead(c[^1], 10, g)) };
        using var replica = new Replica(new GppfNetwork(config, tasks, 1), new OptimizerConfig(OptimizerKind.Sgd));
        var hub = new InProcessCollectiveHub(1, 1, TimeSpan.FromSeconds(600));
        using var group = hub.Join(0);
        using var g = new Generator(1);
        using var x = randn([options.Batch, 3, options.ImageSize, options.ImageSize], generator: g);
        using var y = randint(0, 10, [options.Batch], generator: g);
        long step = 0;
        long forwardPeak = 0;
        const long MeasuredStep = 1;
        void Step() => replica.TrainStep(group, new StepPlan(step++, "cls", ["cls"], options.Mode, 1.0, 0.01, 7),
            (net, request) =>
            {
                var loss = nn.functional.cross_entropy(net.Forward("cls", x, request), y);
                if (request.Step == MeasuredStep)
                {
                    forwardPeak = ProcessMemory.Read("VmHWM");
                }
                return loss;
            });

        Step();                                  // allocates gradients and optimizer state
        ProcessMemory.ResetPeak();
        long baseline = ProcessMemory.Read("VmRSS");
        Step();
        long stepPeak = ProcessMemory.Read("VmHWM");
        long gradientBytes = replica.Network.parameters().Where(p => p.grad is not null).Sum(p => p.grad!.NumberOfElements * p.grad!.ElementSize);

        var wall = new List<double>();
        var cpu = new List<double>();
        for (int i = 0; i < options.Steps; i++)
        {
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            Step();
            wall.Add(clock.Elapsed.TotalSeconds);
            cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
        }
        Console.WriteLine(new ChildResult(baseline, forwardPeak - baseline, stepPeak - baseline, gradientBytes, wall.Order().ElementAt(wall.Count / 2), cpu.Order().ElementAt(cpu.Count / 2)));
        return 0;
    }
}

/// <summary>Command-line options; the child receives the parent's plus --child SETTING.</summary>
internal sealed record CheckpointBenchOptions(string Preset, int Units, RoutingMode Mode, int Batch, int ImageSize, int Steps, int Rounds, int Threads,
    IReadOnlyList<string> Settings, int Every, string? Child)
{
    public static CheckpointBenchOptions Parse(string[] args)
    {
        var o = new CheckpointBenchOptions("resnet50", 2, RoutingMode.Soft, 4, 128, 3, 3, 1, ["none", "all"], 2, null);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            string v = args[i + 1];
            int Int() => int.Parse(v, CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--preset" => o with { Preset = v },
                "--units" => o with { Units = Int() },
                "--mode" => o with { Mode = v == "hard" ? RoutingMode.Hard : v == "soft" ? RoutingMode.Soft : throw new ArgumentException($"--mode: soft or hard, got '{v}'") },
                "--batch" => o with { Batch = Int() },
                "--image-size" => o with { ImageSize = Int() },
                "--steps" => o with { Steps = Math.Max(1, Int()) },
                "--rounds" => o with { Rounds = Math.Max(1, Int()) },
                "--threads" => o with { Threads = Math.Max(1, Int()) },
                "--settings" => o with { Settings = v.Split(',') },
                "--every" => o with { Every = Int() },
                "--child" => o with { Child = v },
                _ => throw new ArgumentException($"unknown option {args[i]} (--preset, --units, --mode, --batch, --image-size, --steps, --rounds, --threads, --settings none,all,every_k, --every)"),
            };
        }
        return o;
    }
}
