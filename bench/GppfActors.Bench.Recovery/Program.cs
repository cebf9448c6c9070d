using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using GppfActors.Bench.Recovery;

// dotnet run -c Release --project bench/GppfActors.Bench.Recovery [-- --nodes 4,8,12,16,20,24 --trials 3 --plot docs/img/recovery-vs-cluster-size.png]
// N cluster nodes (ActorSystems with Akka.Remote on 127.0.0.1, gppf node's HOCON) in this process,
// the real coordinator as the cluster singleton on the oldest node and simulated devices on every
// node; one node other than the coordinator's is killed and the surviving side's events are timed
// from the kill to the first applied step of the epoch without it.
RecoveryOptions options;
try
{
    options = RecoveryOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(RecoveryOptions.Usage);
    return 2;
}

string overlayNote = options.AkkaConfigFile is { } overlay ? $", + {Path.GetFileName(overlay)}" : "";
string settings = string.Create(CultureInfo.InvariantCulture,
    $"heartbeat {options.HeartbeatSeconds} s, acceptable pause {options.FailureDetectionSeconds} s, keep-majority stable-after {options.StableAfterSeconds} s{overlayNote}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"recovery vs cluster size: {settings}; kill = {options.Kill.ToString().ToLowerInvariant()}; {options.DevicesPerNode} simulated device(s) per node, " +
    $"step {options.StepMs} ms, alignment {options.AlignMs} ms; {options.Trials} trial(s) per size, seed {options.Seed}"));
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}");
Console.WriteLine();

var results = new List<TrialResult>();
var failures = new List<string>();
var sweep = Stopwatch.StartNew();
foreach (int nodes in options.Nodes)
{
    for (int trial = 1; trial <= options.Trials; trial++)
    {
        // A cluster that did not form (on a loaded machine, heartbeats delayed past the failure
        // detector's pause while N nodes start make members unreachable before the job starts) is
        // started again, at most twice; it is reported, and nothing of it is measured.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var result = await RecoveryTrial.RunAsync(nodes, trial, options);
                results.Add(result);
                Console.WriteLine(RecoveryReport.TrialLine(result));
                break;
            }
            catch (ClusterNotFormedException e) when (attempt < 3)
            {
                Console.WriteLine($"{nodes} nodes, trial {trial}: started again: {e.Message}");
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or ClusterNotFormedException)
            {
                failures.Add(e.Message);
                Console.WriteLine($"{nodes} nodes, trial {trial}: FAILED: {e.Message}");
                break;
            }
        }
    }
}
Console.WriteLine();
Console.WriteLine($"sweep: {sweep.Elapsed.TotalMinutes:0.0} min");
Console.WriteLine();
if (results.Count > 0)
{
    Console.WriteLine(RecoveryReport.Table(results));
    Console.WriteLine();
    Console.WriteLine(RecoveryReport.PartsTable(results));
    if (options.PlotPath is { } path)
    {
        // The overlay file on a line of its own: one long line is cut at the image's edges.
        RecoveryReport.Plot(results, $"Kill of one node -> next applied step\n{settings.Replace(", + ", "\n+ ", StringComparison.Ordinal)}", path);
        Console.WriteLine();
        Console.WriteLine($"plot: {path}");
    }
}
return failures.Count == 0 ? 0 : 1;
