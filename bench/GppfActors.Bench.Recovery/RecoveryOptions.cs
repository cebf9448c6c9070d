using System.Globalization;
using GppfActors.ClusterConfig.Node;

namespace GppfActors.Bench.Recovery;

/// <summary>How a killed node leaves the others.</summary>
internal enum KillMode
{
    /// <summary>Like kill -9 of its process: cut off first (nothing more leaves it), then its actor system aborted (its sockets close).</summary>
    Crash,

    /// <summary>Like a machine whose network is gone: every packet to and from it dropped, its connections left open.</summary>
    Blackhole,
}

/// <summary>The benchmark's settings; the cluster settings default to <c>gppf node</c>'s documented ones.</summary>
internal sealed record RecoveryOptions
{
    public IReadOnlyList<int> Nodes { get; init; } = [4, 8, 12, 16, 20, 24];

    public int Trials { get; init; } = 3;

    public int DevicesPerNode { get; init; } = 1;

    /// <summary>A simulated device's part of a step, before the step's last collective.</summary>
    public int StepMs { get; init; } = 200;

    /// <summary>A simulated device's part of an alignment (sending or receiving the state), before its rendezvous.</summary>
    public int AlignMs { get; init; } = 200;

    /// <summary>Steps applied by the whole cluster before the kill.</summary>
    public int WarmupSteps { get; init; } = 5;

    /// <summary>
    /// After the warm-up, every failure detector forgets the heartbeats it has seen and learns this
    /// long before the kill (0: no reset). Starting N nodes at once on a few cores delays heartbeats
    /// by seconds, and a detector that keeps those intervals in its history detects a dead node
    /// seconds later; a cluster that has run for a while has its steady state in its history.
    /// </summary>
    public double SettleSeconds { get; init; } = 8;

    public ulong Seed { get; init; } = 1;

    public double HeartbeatSeconds { get; init; } = 1;

    /// <summary>The failure detector's acceptable heartbeat pause (<c>--failure-detection-seconds</c> of <c>gppf node</c>).</summary>
    public double FailureDetectionSeconds { get; init; } = 3;

    public double StableAfterSeconds { get; init; } = 5;

    public KillMode Kill { get; init; } = KillMode.Crash;

    /// <summary>A HOCON file laid over every node's configuration, as <c>gppf node --akka-config</c> does.</summary>
    public string? AkkaConfigFile { get; init; }

    /// <summary>Where to write the PNG plot; none when null.</summary>
    public string? PlotPath { get; init; }

    /// <summary>Akka's warnings on the console (off: errors only).</summary>
    public bool Verbose { get; init; }

    public const string Usage =
        "usage: gppf-bench-recovery [--nodes 4,8,12,16,20,24] [--trials 3] [--devices-per-node 1] [--step-ms 200] [--align-ms 200] [--warmup-steps 5]\n" +
        "                           [--settle-seconds 8] [--seed 1] [--heartbeat-seconds 1] [--failure-detection-seconds 3] [--stable-after-seconds 5]\n" +
        "                           [--kill crash|blackhole] [--akka-config FILE] [--plot FILE.png] [--verbose]";

    /// <summary>Parses the command line; the error names the option.</summary>
    public static RecoveryOptions Parse(IReadOnlyList<string> args)
    {
        var options = new RecoveryOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name == "--verbose")
            {
                options = options with { Verbose = true };
                continue;
            }
            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{name} needs a value");
            }
            string value = args[++i];
            options = name switch
            {
                "--nodes" => options with { Nodes = value.Split(',').Select(v => Int(name, v)).ToArray() },
                "--trials" => options with { Trials = Int(name, value) },
                "--devices-per-node" => options with { DevicesPerNode = Int(name, value) },
                "--step-ms" => options with { StepMs = Int(name, value) },
                "--align-ms" => options with { AlignMs = Int(name, value) },
                "--warmup-steps" => options with { WarmupSteps = Int(name, value) },
                "--settle-seconds" => options with { SettleSeconds = Double(name, value) },
                "--seed" => options with { Seed = ulong.Parse(value, CultureInfo.InvariantCulture) },
                "--heartbeat-seconds" => options with { HeartbeatSeconds = Double(name, value) },
                "--failure-detection-seconds" => options with { FailureDetectionSeconds = Double(name, value) },
                "--stable-after-seconds" => options with { StableAfterSeconds = Double(name, value) },
                "--kill" => options with
                {
                    Kill = value switch
                    {
                        "crash" => KillMode.Crash,
                        "blackhole" => KillMode.Blackhole,
                        _ => throw new ArgumentException($"--kill: '{value}' is neither crash nor blackhole"),
                    },
                },
                "--akka-config" => options with { AkkaConfigFile = value },
                "--plot" => options with { PlotPath = value },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }
        return options.Validate();
    }

    private RecoveryOptions Validate()
    {
        if (Nodes.Count == 0 || Nodes.Any(n => n < 3))
        {
            throw new ArgumentException("--nodes: every size must be >= 3 (a killed node leaves a majority of at least 2)");
        }
        if (Trials < 1 || DevicesPerNode < 1 || WarmupSteps < 1 || StepMs < 0 || AlignMs < 0 || !(SettleSeconds >= 0))
        {
            throw new ArgumentException("--trials, --devices-per-node and --warmup-steps must be >= 1, --step-ms, --align-ms and --settle-seconds >= 0");
        }
        if (!(HeartbeatSeconds > 0) || !(FailureDetectionSeconds > 0) || !(StableAfterSeconds > 0))
        {
            throw new ArgumentException("--heartbeat-seconds, --failure-detection-seconds and --stable-after-seconds must be > 0");
        }
        if (AkkaConfigFile is not null)
        {
            new ClusterOptions("127.0.0.1", 1, ["127.0.0.1:1"]) { AkkaConfigFile = AkkaConfigFile }.Overrides();
        }
        return this;
    }

    private static int Int(string option, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : throw new ArgumentException($"{option}: '{value}' is not an integer");

    private static double Double(string option, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : throw new ArgumentException($"{option}: '{value}' is not a number");
}
