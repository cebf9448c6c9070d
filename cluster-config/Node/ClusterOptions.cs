using System.Globalization;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// How a node joins its cluster: the address it listens on (and that others use to reach it), the
/// seed nodes or the discovery method (exactly one of the two), how many nodes must be up before
/// training starts, and the failure-detection and split-brain settings (documented defaults; tests
/// shorten them).
/// </summary>
public sealed record ClusterOptions(string ListenHost, int ListenPort, IReadOnlyList<string> Seeds, int MinNodes = 1)
{
    /// <summary>
    /// Cluster Bootstrap through Akka.Management and Akka.Discovery (<c>--discovery</c>) instead of
    /// <see cref="Seeds"/>; null: the seed nodes.
    /// </summary>
    public ClusterDiscovery? Discovery { get; init; }

    /// <summary>How this node finds the others, in one line for its start banner.</summary>
    public string DescribeJoin() => Discovery?.Describe() ?? $"seeds {string.Join(",", Seeds)}";

    /// <summary>Seconds between heartbeats of the failure detector (Akka's default).</summary>
    public double HeartbeatIntervalSeconds { get; init; } = 1;

    /// <summary>
    /// How long missed heartbeats are tolerated before a node is marked unreachable. 3 s (Akka's
    /// default) detects a dead process in about 4 s on a quiet network; raise it on congested ones.
    /// </summary>
    public double AcceptableHeartbeatPauseSeconds { get; init; } = 3;

    /// <summary>How long the cluster must be stable before the split-brain resolver downs unreachable nodes (keep-majority).</summary>
    public double StableAfterSeconds { get; init; } = 5;

    /// <summary>Devices the job waits for before its first step; 0 means min-nodes times this node's devices.</summary>
    public int MinDevices { get; init; }

    /// <summary>
    /// A HOCON file laid over the node's Akka configuration (<c>--akka-config</c>): TLS for
    /// Akka.Remote, a public hostname behind NAT, other transport settings. Its values win.
    /// </summary>
    public string? AkkaConfigFile { get; init; }

    /// <summary>The user's HOCON overrides, or an empty config; the error names the file.</summary>
    public Akka.Configuration.Config Overrides()
    {
        if (AkkaConfigFile is null)
        {
            return Akka.Configuration.Config.Empty;
        }
        string text;
        try
        {
            text = File.ReadAllText(AkkaConfigFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--akka-config: '{AkkaConfigFile}' cannot be read: {e.Message}", e);
        }
        try
        {
            return Akka.Configuration.ConfigurationFactory.ParseString(text);
        }
        catch (Exception e)
        {
            throw new ArgumentException($"--akka-config: '{AkkaConfigFile}' is not valid HOCON: {e.Message}", e);
        }
    }

    /// <summary>This node's name in device ids and group specs: its address as host:port.</summary>
    public string NodeName => $"{ListenHost}:{ListenPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses <c>HOST:PORT</c>; the error names the option.</summary>
    public static (string Host, int Port) ParseEndpoint(string text, string option)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"{option}: '{text}' is not HOST:PORT with a port in [1, 65535]");
        }
        return (text[..colon].Trim('[', ']'), port);
    }

    /// <summary>Checks the options; the message names the option.</summary>
    public ClusterOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(ListenHost))
        {
            throw new ArgumentException("--listen: a host is needed");
        }
        if (MinNodes < 1)
        {
            throw new ArgumentException($"--min-nodes must be >= 1, got {MinNodes}");
        }
        if (Discovery is not null)
        {
            if (Seeds.Count > 0)
            {
                throw new ArgumentException("--seeds and --discovery: a node joins through one of them, not both");
            }
            Discovery.Validate(this);
        }
        else
        {
            if (Seeds.Count == 0)
            {
                throw new ArgumentException("--seeds: at least one seed node is needed (a node may list itself)");
            }
            foreach (var seed in Seeds)
            {
                ParseEndpoint(seed, "--seeds");
            }
        }
        Overrides();
        return this;
    }
}
