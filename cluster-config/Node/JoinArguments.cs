namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// The command-line options that say how a node finds its cluster, as given (null: not given):
/// <c>--seeds</c>, or <c>--discovery</c> with the options of its method. <see cref="Resolve"/> turns
/// them into seed nodes or a <see cref="ClusterDiscovery"/> and refuses, in one line naming the
/// option, every combination that would be silently ignored: an option of the other way to join is a
/// mistake the operator should hear about, not a setting that does nothing.
/// </summary>
public sealed record JoinArguments(
    string? Seeds = null,
    string? Discovery = null,
    string? ContactPoints = null,
    int? ManagementPort = null,
    string? PodLabelSelector = null,
    string? PodNamespace = null,
    string? ManagementPortName = null)
{
    /// <summary>The environment variable a pod sets from its own namespace (downward API), read when <c>--pod-namespace</c> is not given.</summary>
    public const string PodNamespaceVariable = "POD_NAMESPACE";

    /// <summary>
    /// The seed nodes (empty with discovery) and the discovery method (null with seeds);
    /// <paramref name="environment"/> reads environment variables.
    /// </summary>
    public (IReadOnlyList<string> Seeds, ClusterDiscovery? Discovery) Resolve(Func<string, string?> environment)
    {
        if (Seeds is not null && Discovery is not null)
        {
            throw new ArgumentException("--seeds and --discovery: a node joins through one of them, not both");
        }
        if (Seeds is null && Discovery is null)
        {
            throw new ArgumentException("--seeds or --discovery is needed: seed nodes HOST:PORT[,...], or --discovery config|kubernetes");
        }
        if (Seeds is not null)
        {
            RefuseOutside("--discovery", (ContactPoints, "--contact-points"), (ManagementPort, "--management-port"),
                (PodLabelSelector, "--pod-label-selector"), (PodNamespace, "--pod-namespace"), (ManagementPortName, "--management-port-name"));
            return (Split(Seeds), null);
        }
        switch (Discovery)
        {
            case "config":
                RefuseOutside("--discovery kubernetes", (PodLabelSelector, "--pod-label-selector"), (PodNamespace, "--pod-namespace"),
                    (ManagementPortName, "--management-port-name"));
                if (ContactPoints is null)
                {
                    throw new ArgumentException("--contact-points: --discovery config needs the management endpoints HOST:PORT[,...] of the cluster's machines");
                }
                return ([], new ConfigDiscovery(Split(ContactPoints)) { ManagementPort = ManagementPort ?? ClusterDiscovery.DefaultManagementPort });
            case "kubernetes":
                RefuseOutside("--discovery config", (ContactPoints, "--contact-points"));
                return ([], new KubernetesPodDiscovery
                {
                    ManagementPort = ManagementPort ?? ClusterDiscovery.DefaultManagementPort,
                    PodLabelSelector = PodLabelSelector ?? KubernetesPodDiscovery.DefaultPodLabelSelector,
                    PodNamespace = PodNamespace ?? NonEmpty(environment(PodNamespaceVariable)),
                    ManagementPortName = ManagementPortName ?? KubernetesPodDiscovery.DefaultManagementPortName,
                });
            default:
                throw new ArgumentException($"--discovery must be config or kubernetes, got '{Discovery}'");
        }
    }

    private static void RefuseOutside(string onlyWith, params (object? Value, string Option)[] options)
    {
        foreach (var (value, option) in options)
        {
            if (value is not null)
            {
                throw new ArgumentException($"{option}: only with {onlyWith}");
            }
        }
    }

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
