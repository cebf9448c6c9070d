using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// Cluster Bootstrap instead of seed nodes (<c>--discovery</c>): every node serves Akka.Management's
/// HTTP endpoint on its <c>--listen</c> host and <see cref="ManagementPort"/> and finds the other
/// nodes' endpoints through Akka.Discovery. A node that finds a running cluster joins it; before
/// there is one, once <c>--min-nodes</c> endpoints answer and the list has not changed for
/// <see cref="StableMarginSeconds"/>, the node with the lowest endpoint forms the cluster and the
/// others join it. Operators then name machines (or let Kubernetes list the pods) instead of keeping
/// a seed list whose first entry must be up before anything else can start.
/// </summary>
public abstract record ClusterDiscovery
{
    /// <summary>Akka.Management's own default port, so the endpoint is where its documentation says.</summary>
    public const int DefaultManagementPort = 8558;

    /// <summary>The Akka.Management HTTP port (<c>--management-port</c>); it is served on the <c>--listen</c> host.</summary>
    public int ManagementPort { get; init; } = DefaultManagementPort;

    /// <summary>
    /// How long the discovered endpoints must stay the same before a new cluster is formed (Akka's
    /// default 5 s): a list that is still growing while nodes start is not decided on.
    /// </summary>
    public double StableMarginSeconds { get; init; } = 5;

    /// <summary>How often each discovered endpoint is asked for the cluster it belongs to (Akka's default 5 s).</summary>
    public double ProbeIntervalSeconds { get; init; } = 5;

    /// <summary>The <c>--discovery</c> value that selects this method.</summary>
    public abstract string Method { get; }

    /// <summary>One line for the node's start banner.</summary>
    public abstract string Describe();

    /// <summary>Checks the settings against the node's own; the message names the option.</summary>
    public virtual void Validate(ClusterOptions cluster)
    {
        if (ManagementPort is < 1 or > 65535)
        {
            throw new ArgumentException($"--management-port must be in [1, 65535], got {ManagementPort}");
        }
        if (ManagementPort == cluster.ListenPort)
        {
            throw new ArgumentException($"--management-port: {ManagementPort} is already --listen's port; the HTTP endpoint needs a port of its own");
        }
        if (StableMarginSeconds <= 0 || ProbeIntervalSeconds <= 0)
        {
            throw new ArgumentException($"cluster bootstrap: stable margin and probe interval must be > 0 s, got {StableMarginSeconds} and {ProbeIntervalSeconds}");
        }
    }
}

/// <summary>
/// <c>--discovery config --contact-points HOST:MGMTPORT,...</c>: Akka.Discovery's config method with
/// a fixed list of the machines' management endpoints (the same list on every node).
/// </summary>
public sealed record ConfigDiscovery(IReadOnlyList<string> ContactPoints) : ClusterDiscovery
{
    public override string Method => "config";

    public override string Describe() =>
        $"config discovery through {string.Join(",", ContactPoints)}, management port {ManagementPort.ToString(CultureInfo.InvariantCulture)}";

    public override void Validate(ClusterOptions cluster)
    {
        base.Validate(cluster);
        if (ContactPoints.Count == 0)
        {
            throw new ArgumentException("--contact-points: at least one HOST:MGMTPORT is needed");
        }
        var seen = new HashSet<(string, int)>();
        foreach (var point in ContactPoints)
        {
            if (!seen.Add(ClusterOptions.ParseEndpoint(point, "--contact-points")))
            {
                throw new ArgumentException($"--contact-points: '{point}' is listed twice");
            }
        }
        // A new cluster forms only when --min-nodes of the listed endpoints answer, so a shorter list
        // could never start one (joining a running cluster would still work, but a typo is likelier).
        if (ContactPoints.Count < cluster.MinNodes)
        {
            throw new ArgumentException($"--contact-points: {ContactPoints.Count} endpoint(s) cannot start a cluster of --min-nodes {cluster.MinNodes}; list every machine's management endpoint");
        }
    }
}

/// <summary>
/// <c>--discovery kubernetes</c>: <see cref="KubernetesPodLookup"/> lists the pods that match
/// <see cref="PodLabelSelector"/> in <see cref="PodNamespace"/> through the Kubernetes API (the pod's
/// service account needs to list pods), and Cluster Bootstrap probes each at its container port
/// named <see cref="ManagementPortName"/>.
/// </summary>
public sealed partial record KubernetesPodDiscovery : ClusterDiscovery
{
    /// <summary>The label selector a sample manifest gives its pods.</summary>
    public const string DefaultPodLabelSelector = "app=gppf";

    /// <summary>The container port name the manifest gives the management port.</summary>
    public const string DefaultManagementPortName = "management";

    /// <summary>Which pods are this cluster's nodes (<c>--pod-label-selector</c>).</summary>
    public string PodLabelSelector { get; init; } = DefaultPodLabelSelector;

    /// <summary>
    /// The namespace to list pods in (<c>--pod-namespace</c>, else <c>POD_NAMESPACE</c>); null: the
    /// pod's own, read from its service-account files.
    /// </summary>
    public string? PodNamespace { get; init; }

    /// <summary>The name of the container port that serves Akka.Management (<c>--management-port-name</c>).</summary>
    public string ManagementPortName { get; init; } = DefaultManagementPortName;

    public override string Method => "kubernetes";

    public override string Describe() =>
        $"kubernetes discovery of pods {PodLabelSelector} in namespace {PodNamespace ?? "(the pod's own)"}, management port {ManagementPortName} ({ManagementPort.ToString(CultureInfo.InvariantCulture)})";

    public override void Validate(ClusterOptions cluster)
    {
        base.Validate(cluster);
        // The pods reach each other at the address they listen on; a loopback one is reachable only
        // from inside the pod itself.
        if (cluster.ListenHost == "localhost" || (IPAddress.TryParse(cluster.ListenHost, out var address) && IPAddress.IsLoopback(address)))
        {
            throw new ArgumentException($"--listen: '{cluster.ListenHost}' is a loopback address; with --discovery kubernetes listen on the pod's IP (--listen $(POD_IP):4053)");
        }
        // A selector never has braces; Akka.Discovery.KubernetesApi's placeholder form (app={0}) is not
        // supported, and saying so beats a lookup that never matches.
        if (string.IsNullOrWhiteSpace(PodLabelSelector) || PodLabelSelector.IndexOfAny(['{', '}']) >= 0)
        {
            throw new ArgumentException($"--pod-label-selector: '{PodLabelSelector}' is not a label selector such as app=gppf");
        }
        if (PodNamespace is not null && !NamespaceName().IsMatch(PodNamespace))
        {
            throw new ArgumentException($"--pod-namespace: '{PodNamespace}' is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63)");
        }
        if (!PortName().IsMatch(ManagementPortName) || !ManagementPortName.Any(char.IsAsciiLetterLower) || ManagementPortName.Contains("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"--management-port-name: '{ManagementPortName}' is not a Kubernetes port name (lower-case letters, digits and '-', at most 15, at least one letter)");
        }
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex NamespaceName();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")]
    private static partial Regex PortName();
}
