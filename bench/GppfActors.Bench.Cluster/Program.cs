using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using GppfActors.Bench.Cluster;
using GppfActors.Testing;

// dotnet run -c Release --project bench/GppfActors.Bench.Cluster [-- --trials 3 --nodes 3 --kill worker|coordinator]
// Starts a gppf node cluster on 127.0.0.1 (one CPU device per node, the cpu-small preset, the
// documented failure-detection and split-brain settings unless given), kills a node with SIGKILL
// a seeded random moment after a step (the newest worker, or the coordinator's node), and times,
// from the kill, what the coordinator's node (after a coordinator kill: the node that takes over)
// reports: the node unreachable, removed, the takeover, the next epoch, the next applied step.
var options = Options.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: gppf-bench-cluster [--trials N] [--nodes N] [--seed S] [--kill worker|coordinator] [--failure-detection-seconds S] [--stable-after-seconds S]");
    return 2;
}
var gppf = BuiltPrograms.Find(typeof(NodeProcess).Assembly, "GppfHostAssembly");
var root = Path.Combine(Path.GetTempPath(), "gppf-bench-cluster-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(root);
try
{
    var clock = Stopwatch.StartNew();
    using (var synth = new NodeProcess(gppf, root, ["synth", "--out", Path.Combine(root, "data"), "--seed", "7", "--size", "small"], clock))
    {
        if (synth.WaitForExit(300) != 0)
        {
            throw new InvalidOperationException($"gppf synth failed:\n{synth.Output}");
        }
    }
    var settings = options.FailureDetectionSeconds is null && options.StableAfterSeconds is null
        ? "documented defaults (heartbeat 1 s, acceptable pause 3 s, stable-after 5 s)"
        : $"failure detection {options.FailureDetectionSeconds?.ToString(CultureInfo.InvariantCulture) ?? "3"} s, stable-after {options.StableAfterSeconds?.ToString(CultureInfo.InvariantCulture) ?? "5"} s";
    Console.WriteLine($"gppf node cluster on 127.0.0.1: {options.Nodes} nodes x 1 CPU device, cpu-small, {Environment.ProcessorCount} cores; {settings}");
    Console.WriteLine(options.KillCoordinator
        ? "times in seconds from kill -9 of the coordinator's node, as reported by the node that takes over"
        : "times in seconds from kill -9 of a worker node, as reported by the coordinator's node");
    Console.WriteLine();
    Console.WriteLine("| trial | killed after step | step time before | unreachable | removed | took over | new epoch | next applied step | steps lost |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    var random = new Random(options.Seed);
    var recoveries = new List<double>();
    for (int trial = 1; trial <= options.Trials; trial++)
    {
        var row = Trial.Run(gppf, root, trial, options, random);
        Console.WriteLine($"| {trial} | {row.KilledAfter} | {row.StepSeconds:0.00} | {F(row.Unreachable)} | {F(row.Removed)} | {F(row.TookOver)} | {F(row.NewEpoch)} | {F(row.NextStep)} | {row.StepsLost?.ToString(CultureInfo.InvariantCulture) ?? "-"} |");
        if (row.NextStep is { } s)
        {
            recoveries.Add(s);
        }
    }
    Console.WriteLine();
    if (recoveries.Count > 0)
    {
        recoveries.Sort();
        Console.WriteLine($"kill -> next applied step: median {recoveries[recoveries.Count / 2]:0.0} s, max {recoveries[^1]:0.0} s over {recoveries.Count} trial(s) (goal <= 30 s)");
    }
    return recoveries.Count == options.Trials ? 0 : 1;
}
finally
{
    Directory.Delete(root, recursive: true);
}

static string F(double? seconds) => seconds is { } s ? s.ToString("0.0", CultureInfo.InvariantCulture) : "-";

namespace GppfActors.Bench.Cluster
{
    internal sealed record Options(int Trials, int Nodes, int Seed, double? FailureDetectionSeconds, double? StableAfterSeconds, bool KillCoordinator = false)
    {
        public static Options? Parse(string[] args)
        {
            var o = new Options(3, 3, 20261130, null, null);
            for (int i = 0; i < args.Length; i += 2)
            {
                if (i + 1 >= args.Length)
                {
                    return null;
                }
                string v = args[i + 1];
                switch (args[i])
                {
                    case "--trials" when int.TryParse(v, CultureInfo.InvariantCulture, out int t) && t > 0:
                        o = o with { Trials = t };
                        break;
                    case "--nodes" when int.TryParse(v, CultureInfo.InvariantCulture, out int n) && n >= 3:
                        o = o with { Nodes = n };
                        break;
                    case "--seed" when int.TryParse(v, CultureInfo.InvariantCulture, out int s):
                        o = o with { Seed = s };
                        break;
                    case "--failure-detection-seconds" when double.TryParse(v, CultureInfo.InvariantCulture, out double f) && f > 0:
                        o = o with { FailureDetectionSeconds = f };
                        break;
                    case "--stable-after-seconds" when double.TryParse(v, CultureInfo.InvariantCulture, out double a) && a > 0:
                        o = o with { StableAfterSeconds = a };
                        break;
                    case "--kill" when v is "worker" or "coordinator":
                        o = o with { KillCoordinator = v == "coordinator" };
                        break;
                    default:
                        return null;
                }
            }
            return o;
        }
    }

    internal sealed record TrialResult(long KilledAfter, double StepSeconds, double? Unreachable, double? Removed, double? TookOver, double? NewEpoch, double? NextStep,
        int? StepsLost);

    internal static partial class Trial
    {
        public static TrialResult Run(string gppf, string root, int trial, Options options, Random random)
        {
            string run = Path.Combine(root, $"run-{trial}");
            var ports = LoopbackPorts.Ascending(options.Nodes);
            // Members that reach min-nodes together are moved up in address order: the lowest port
            // is the oldest node and hosts the coordinator; the highest is the worker killed.
            int seed = ports[0];
            var clock = Stopwatch.StartNew();
            var nodes = ports.Select(p => new NodeProcess(gppf, root, Arguments(root, run, p, seed, options), clock)).ToList();
            try
            {
                var leader = nodes[0];
                var victim = options.KillCoordinator ? nodes[0] : nodes[^1];
                var observer = options.KillCoordinator ? nodes[1] : nodes[0];
                int victimPort = options.KillCoordinator ? ports[0] : ports[^1];
                long k = 4 + random.Next(3);
                var before = leader.WaitForLine(l => StepLine().Match(l) is { Success: true } m && long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) == k,
                    TimeSpan.Zero, 600) ?? throw new InvalidOperationException($"step {k} never came:\n{leader.Output}");
                var first = leader.WaitForLine(l => StepLine().Match(l) is { Success: true } m && m.Groups[1].Value == "2", TimeSpan.Zero, 1)!.Value;
                double stepSeconds = (before - first).TotalSeconds / (k - 2);
                Thread.Sleep(TimeSpan.FromSeconds(random.NextDouble() * stepSeconds));
                var killed = clock.Elapsed;
                victim.KillHard();
                string victimName = $"127.0.0.1:{victimPort}";
                double? Since(TimeSpan? at) => at is { } t ? (t - killed).TotalSeconds : null;
                var unreachable = observer.WaitForLine(l => l.Contains($"node {victimName} is unreachable", StringComparison.Ordinal), killed, 120);
                var removed = observer.WaitForLine(l => l.Contains($"node {victimName} was removed", StringComparison.Ordinal), killed, 120);
                var tookOver = options.KillCoordinator ? observer.WaitForLine(l => l.StartsWith("continuing at step", StringComparison.Ordinal), killed, 180) : null;
                int? lost = options.KillCoordinator && Lost().Match(observer.Output) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
                var epoch = observer.WaitForLine(l => Regex.IsMatch(l, $@"epoch \d+: {options.Nodes - 1} device\(s\)"), killed, 120);
                var next = epoch is { } e ? observer.WaitForLine(l => StepLine().IsMatch(l), e, 120) : null;
                return new TrialResult(k, stepSeconds, Since(unreachable), Since(removed), Since(tookOver), Since(epoch), Since(next), lost);
            }
            finally
            {
                foreach (var node in nodes)
                {
                    node.Dispose();
                }
            }
        }

        private static string[] Arguments(string root, string run, int port, int seed, Options options)
        {
            var args = new List<string>
            {
                "node", "--listen", $"127.0.0.1:{port}", "--seeds", $"127.0.0.1:{seed}", "--min-nodes", options.Nodes.ToString(CultureInfo.InvariantCulture),
                "--job", "cpu-small", "--devices", "cpu:1", "--report-every", "1",
                "--set", $"data.root={Path.Combine(root, "data")}", "--set", "data.generate_if_missing=false",
                "--set", $"checkpoint.dir={run}", "--set", "checkpoint.every_steps=0",
                "--set", "train.max_steps=100000", "--set", "eval.every_steps=0", "--set", "eval.batches=1",
            };
            if (options.FailureDetectionSeconds is { } f)
            {
                args.AddRange(["--failure-detection-seconds", f.ToString(CultureInfo.InvariantCulture)]);
            }
            if (options.StableAfterSeconds is { } s)
            {
                args.AddRange(["--stable-after-seconds", s.ToString(CultureInfo.InvariantCulture)]);
            }
            return [.. args];
        }

        [GeneratedRegex(@"^step\s+(\d+)/\d+")]
        private static partial Regex StepLine();

        [GeneratedRegex(@"\(steps lost: (\d+);")]
        private static partial Regex Lost();
    }
}
