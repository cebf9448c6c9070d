using System.Diagnostics;
using System.Globalization;
using GppfActors.Collectives;
using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using GppfActors.Model.Training;
using static TorchSharp.torch;

// Measures training-step times of the model core side by side and prints ratios:
//   soft N=2 / static (N=1), hard N=2 / static, SyncBN over 2 in-process devices / plain BN, and
//   SyncBN's device-resident statistics (forced on the CPU; meant for GPUs) / its host path.
// Configurations are interleaved round by round so machine drift hits all of them alike;
// each figure is the median over rounds of the mean step time within a round. Beside wall time it
// reports the process's CPU time per step: on a machine shared with other jobs, wall time mostly
// measures the wait for a core, while CPU time (with --cores 1, one libtorch thread, so no
// spinning pool threads) still measures the work.
var options = BenchOptions.Parse(args);
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeVersion()}, libtorch {__version__}");
Console.WriteLine($"config: backbone small, batch {options.Batch}, image {options.ImageSize}x{options.ImageSize}, {options.Rounds} rounds x {options.Steps} steps, {options.Warmup} warm-up steps, libtorch threads {options.Cores} (1 device) / {Math.Max(1, options.Cores / 2)} (2 devices)");

string[] names = ["static", "static-plain", "soft", "hard", "syncbn", "plainbn", "syncbn-shared", "plainbn-shared", "syncbn-device"];
var wall = names.ToDictionary(n => n, _ => new List<double>());
var cpu = names.ToDictionary(n => n, _ => new List<double>());
var waits = new Dictionary<string, List<double>> { ["syncbn"] = [], ["plainbn"] = [], ["syncbn-shared"] = [], ["plainbn-shared"] = [], ["syncbn-device"] = [] };

// Runs one configuration for options.Steps steps and records its wall and CPU time per step.
void Measure(string name, Func<double> run)
{
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    wall[name].Add(run());
    cpu[name].Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds / options.Steps);
}

using var staticNet = new Bench(1, RoutingMode.Soft, options);
using var softNet = new Bench(2, RoutingMode.Soft, options);
using var hardNet = new Bench(2, RoutingMode.Hard, options);
set_num_threads(options.Cores);
foreach (var b in new[] { staticNet, softNet, hardNet })
{
    b.RunSingle(options.Warmup);
}
for (int round = 0; round < options.Rounds; round++)
{
    set_num_threads(options.Cores);
    Measure("static", () => staticNet.RunSingle(options.Steps));
    Measure("static-plain", () => staticNet.RunSingle(options.Steps, syncBn: false));
    Measure("soft", () => softNet.RunSingle(options.Steps));
    Measure("hard", () => hardNet.RunSingle(options.Steps));

    // Two virtual devices share the cores: libtorch's pool is process-wide, so cores / 2 each.
    set_num_threads(Math.Max(1, options.Cores / 2));
    if (round == 0)
    {
        foreach (bool share in new[] { false, true })
        {
            Bench.RunPair(options, syncBn: true, options.Warmup, share);
            Bench.RunPair(options, syncBn: false, options.Warmup, share);
        }
        Bench.RunPair(options, syncBn: true, options.Warmup, deviceStatistics: true);
    }
    foreach (var (name, syncBn, share, device) in new[] { ("syncbn", true, false, false), ("plainbn", false, false, false), ("syncbn-shared", true, true, false), ("plainbn-shared", false, true, false), ("syncbn-device", true, false, true) })
    {
        Measure(name, () => Bench.RunPair(options, syncBn, options.Steps, share, device));
        waits[name].Add(Bench.LastPairWaitSeconds);
    }
    Console.WriteLine($"round {round + 1}: static {wall["static"][^1] * 1e3:0.0} ms, soft {wall["soft"][^1] * 1e3:0.0} ms, hard {wall["hard"][^1] * 1e3:0.0} ms, " +
        $"syncbn x2 {wall["syncbn"][^1] * 1e3:0.0} ms, plain bn x2 {wall["plainbn"][^1] * 1e3:0.0} ms, " +
        $"shared weights: syncbn x2 {wall["syncbn-shared"][^1] * 1e3:0.0} ms, plain bn x2 {wall["plainbn-shared"][^1] * 1e3:0.0} ms, " +
        $"syncbn device statistics x2 {wall["syncbn-device"][^1] * 1e3:0.0} ms");
}

double Median(List<double> xs)
{
    var s = xs.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

void Table(string title, Dictionary<string, List<double>> times)
{
    double st = Median(times["static"]), soft = Median(times["soft"]), hard = Median(times["hard"]);
    double sync = Median(times["syncbn"]), plain = Median(times["plainbn"]), native = Median(times["static-plain"]);
    Console.WriteLine();
    Console.WriteLine($"| measurement | median {title} per step (ms) | ratio | goal |");
    Console.WriteLine("|---|---|---|---|");
    Console.WriteLine($"| static (N=1), 1 device | {st * 1e3:0.0} | 1.00 | |");
    Console.WriteLine($"| static (N=1), 1 device, native BatchNorm | {native * 1e3:0.0} | {native / st:0.00} x static | |");
    Console.WriteLine($"| soft N=2, 1 device | {soft * 1e3:0.0} | {soft / st:0.00} x static | <= 2.2 |");
    Console.WriteLine($"| hard N=2, 1 device | {hard * 1e3:0.0} | {hard / st:0.00} x static | <= 1.15 |");
    Console.WriteLine($"| plain BN, 2 in-process devices | {plain * 1e3:0.0} | 1.00 | |");
    Console.WriteLine($"| SyncBN, 2 in-process devices | {sync * 1e3:0.0} | {sync / plain:0.00} x plain BN | <= 1.10 |");
    double syncShared = Median(times["syncbn-shared"]), plainShared = Median(times["plainbn-shared"]);
    Console.WriteLine($"| plain BN, 2 devices sharing weights | {plainShared * 1e3:0.0} | {plainShared / plain:0.00} x plain BN with replicas | |");
    Console.WriteLine($"| SyncBN, 2 devices sharing weights | {syncShared * 1e3:0.0} | {syncShared / plainShared:0.00} x plain BN sharing weights | <= 1.10 |");
    double syncDevice = Median(times["syncbn-device"]);
    Console.WriteLine($"| SyncBN, 2 in-process devices, device-resident statistics (forced on the CPU) | {syncDevice * 1e3:0.0} | {syncDevice / sync:0.00} x SyncBN host path | (GPU path) |");
}

Table("wall time", wall);
Console.WriteLine();
Console.WriteLine($"time a device waits for its peer per step (median): SyncBN {Median(waits["syncbn"]) * 1e3:0.0} ms, plain BN {Median(waits["plainbn"]) * 1e3:0.0} ms; " +
    $"sharing weights: SyncBN {Median(waits["syncbn-shared"]) * 1e3:0.0} ms, plain BN {Median(waits["plainbn-shared"]) * 1e3:0.0} ms");
// The two-device rows count both devices' CPU time.
Table("process CPU time", cpu);

static string RuntimeVersion() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

/// <summary>Command-line options of the benchmark.</summary>
internal sealed record BenchOptions(int Batch, int ImageSize, int Steps, int Rounds, int Warmup, int Cores)
{
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions(16, 64, 10, 7, 5, Environment.ProcessorCount);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            int v = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--batch" => o with { Batch = v },
                "--image-size" => o with { ImageSize = v },
                "--steps" => o with { Steps = v },
                "--rounds" => o with { Rounds = v },
                "--warmup" => o with { Warmup = v },
                "--cores" => o with { Cores = Math.Max(1, v) },
                _ => throw new ArgumentException($"unknown option {args[i]} (--batch, --image-size, --steps, --rounds, --warmup, --cores)"),
            };
        }
        return o;
    }
}

/// <summary>One replica of the small backbone with a 10-class head, stepping on a fixed random batch.</summary>
internal sealed class Bench : IDisposable
{
    private readonly Replica replica;
    private readonly RoutingMode mode;
    private readonly Tensor x;
    private readonly Tensor y;
    private long step;

    public Bench(int numUnits, RoutingMode mode, BenchOptions options, int seed = 1, SharedModel? shared = null)
    {
        this.mode = mode;
        replica = shared is null ? new Replica(Network(numUnits, seed), new OptimizerConfig(OptimizerKind.Sgd)) : shared.CreateReplica(() => Network(numUnits, seed));
        using var g = new Generator((ulong)seed);
        x = randn(new long[] { options.Batch, 3, options.ImageSize, options.ImageSize }, generator: g).DetachFromDisposeScope();
        y = randint(0, 10, new long[] { options.Batch }, generator: g).DetachFromDisposeScope();
    }

    public static GppfNetwork Network(int numUnits, int seed) =>
        new(BackboneConfig.Small(numUnits), [new TaskHeadSpec("cls", (c, g) => new ClassifierHead(c[^1], 10, g))], seed);

    /// <summary>Mean seconds per step over <paramref name="steps"/> steps in a group of one.</summary>
    public double RunSingle(int steps, bool syncBn = true)
    {
        var hub = new InProcessCollectiveHub(1, 1, TimeSpan.FromSeconds(60));
        using var group = hub.Join(0);
        return Time(group, steps, syncBn);
    }

    public double Time(ICollectiveGroup group, int steps, bool syncBn)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++)
        {
            var plan = new StepPlan(step++, "cls", ["cls"], mode, 1.0, 0.01, 7) { SyncBatchNorm = syncBn };
            replica.TrainStep(group, plan, (net, request) => nn.functional.cross_entropy(net.Forward("cls", x, request), y));
        }
        return clock.Elapsed.TotalSeconds / steps;
    }

    /// <summary>Mean seconds per step a device of the last pair run spent waiting in collectives.</summary>
    public static double LastPairWaitSeconds { get; private set; }

    /// <summary>
    /// Mean seconds per step of two devices stepping together (slowest device), with SyncBN or plain BN,
    /// each with a replica or both sharing one copy of the weights, SyncBN on its host or device path.
    /// </summary>
    public static double RunPair(BenchOptions options, bool syncBn, int steps, bool share = false, bool deviceStatistics = false)
    {
        var hub = new InProcessCollectiveHub(1, 2, TimeSpan.FromSeconds(60));
        using var shared = share ? new SharedModel(Network(1, 1), new OptimizerConfig(OptimizerKind.Sgd)) : null;
        var times = new double[2];
        var waits = new double[2];
        var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            using var bench = new Bench(1, RoutingMode.Soft, options, seed: 1 + rank, shared);
            bench.replica.Network.Sync.ForceDeviceStatistics = deviceStatistics;
            using var group = hub.Join(rank);
            bench.Time(group, 1, syncBn); // first step allocates optimizer state
            group.Barrier();
            var waitedBefore = group.WaitTime;
            times[rank] = bench.Time(group, steps, syncBn);
            waits[rank] = (group.WaitTime - waitedBefore).TotalSeconds / steps;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        LastPairWaitSeconds = waits.Average();
        return times.Max();
    }

    public void Dispose()
    {
        replica.Dispose();
        x.Dispose();
        y.Dispose();
    }
}
