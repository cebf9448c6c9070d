using System.Diagnostics;
using System.Globalization;
using Akka.Cluster;
using GppfActors.Testing;

namespace GppfActors.Bench.Recovery;

/// <summary>
/// One trial: N fresh cluster nodes on free loopback ports, training until every device has
/// applied the warm-up steps, the failure detectors' histories reset and left to learn the steady
/// state, one node other than the coordinator's killed at a seeded moment of a step, and the
/// timeline read once the survivors have applied a step of their new epoch.
/// </summary>
internal static class RecoveryTrial
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromMinutes(2);

    public static async Task<TrialResult> RunAsync(int numNodes, int trial, RecoveryOptions options)
    {
        var random = new Random(unchecked((int)options.Seed * 1_000_003 + numNodes * 1_009 + trial));
        var timeline = new Timeline();
        var collectives = new SimulatedCollectives();
        int world = numNodes * options.DevicesPerNode;
        var job = new RecoveryLeader.Job(world, options.Seed);
        var ports = LoopbackPorts.Ascending(numNodes);
        var nodes = new List<BenchNode>();
        long startedAt = Timeline.Now;
        TrialLogger.Mute(false);
        try
        {
            // The seed (lowest port) first; with min-nodes = N every node is moved up together in
            // address order, so the seed is the oldest node and hosts the coordinator.
            for (int i = 0; i < numNodes; i++)
            {
                nodes.Add(BenchNode.Start(i, ports[i], ports[0], numNodes, options, job, collectives, timeline));
            }
            var warm = await timeline.WaitForAsync(marks => marks.FirstOrDefault(m => m.Kind is MarkKind.TrainingFailed
                || (m.Kind == MarkKind.StepApplied && m.WorldSize == world && m.Step >= options.WarmupSteps - 1)), StartTimeout)
                ?? throw new ClusterNotFormedException($"{numNodes} nodes: {options.WarmupSteps} steps of {world} devices not applied within {StartTimeout.TotalSeconds:0} s");
            if (warm.Kind == MarkKind.TrainingFailed)
            {
                throw new InvalidOperationException($"{numNodes} nodes: training failed: {warm.Subject}");
            }
            var marks = timeline.Snapshot();
            int coordinatorNode = marks.First(m => m.Kind == MarkKind.CoordinatorStarted).Node;
            var candidates = nodes.Where(n => n.Index != coordinatorNode).ToList();
            var victim = candidates[random.Next(candidates.Count)];
            if (options.SettleSeconds > 0)
            {
                foreach (var node in nodes)
                {
                    Cluster.Get(node.System).FailureDetector.Reset();
                }
                await Task.Delay(TimeSpan.FromSeconds(options.SettleSeconds));
            }

            double offsetMs = random.NextDouble() * options.StepMs;
            await Task.Delay(TimeSpan.FromMilliseconds(offsetMs));
            var histories = nodes.Where(n => n != victim).Select(n => HeartbeatHistoryProbe.Read(n.System, victim.Address)).OfType<HeartbeatHistoryProbe.History>().ToList();
            double load = LoadAverage();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            long killedAt = await KillAsync(victim, nodes, collectives, options.Kill);
            var survivors = world - options.DevicesPerNode;
            var recovered = await timeline.WaitForAsync(marks => marks.FirstOrDefault(m => m.Ticks > killedAt
                && (m.Kind is MarkKind.TrainingFailed || (m.Kind == MarkKind.StepApplied && m.WorldSize == survivors))), RecoveryTimeout)
                ?? throw new TimeoutException($"{numNodes} nodes: no step of {survivors} devices applied within {RecoveryTimeout.TotalSeconds:0} s of the kill");
            if (recovered.Kind == MarkKind.TrainingFailed)
            {
                throw new InvalidOperationException($"{numNodes} nodes: training failed after the kill: {recovered.Subject}");
            }
            double cores = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds / Timeline.Seconds(killedAt, recovered.Ticks);
            return TrialResult.From(timeline.Snapshot(), numNodes, trial, killedAt, offsetMs, victim.Name, victim.Index, coordinatorNode, survivors) with
            {
                StartSeconds = Timeline.Seconds(startedAt, warm.Ticks),
                LoadAverage = load,
                CpuCores = cores,
                OtherReachabilityChanges = timeline.Snapshot().Count(m => m.Ticks >= killedAt && m.Ticks <= recovered.Ticks && m.Node == coordinatorNode
                    && m.Kind is MarkKind.Unreachable or MarkKind.Reachable && m.Subject != victim.Name),
                NumMonitors = histories.Count,
                HeartbeatStdMs = Median(histories.Select(h => h.StdDeviationMs)),
                SuspicionSeconds = Median(histories.Select(h => HeartbeatHistoryProbe.SecondsToSuspicion(h, options.FailureDetectionSeconds))),
            };
        }
        finally
        {
            TrialLogger.Mute(true);
            foreach (var node in nodes)
            {
                node.Crash();
            }
            await Task.WhenAll(nodes.Select(n => n.System.WhenTerminated)).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    // The moment of the kill is taken before the first packet is dropped.
    private static async Task<long> KillAsync(BenchNode victim, IReadOnlyList<BenchNode> nodes, SimulatedCollectives collectives, KillMode mode)
    {
        long killedAt = Timeline.Now;
        collectives.Isolate(victim.Name);
        var others = nodes.Where(n => n != victim).ToList();
        await Task.WhenAll(others.SelectMany(n => new[] { victim.CutOffAsync(n), n.CutOffAsync(victim) }));
        if (mode == KillMode.Crash)
        {
            victim.Crash();
        }
        return killedAt;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    // The machine's 1-minute load average (Linux), or NaN.
    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }
}

/// <summary>The cluster did not form and warm up before the kill (nothing was measured; the trial can be run again).</summary>
internal sealed class ClusterNotFormedException(string message) : Exception(message);
