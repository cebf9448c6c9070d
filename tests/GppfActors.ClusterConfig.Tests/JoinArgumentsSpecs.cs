using GppfActors.ClusterConfig.Node;
using Xunit;

namespace GppfActors.ClusterConfig.Tests;

/// <summary>
/// How <c>gppf node</c> is told to find its cluster: seed nodes or discovery, exactly one, and every
/// option of the other way (or a bad value) refused in one line that names the option.
/// </summary>
public sealed class JoinArgumentsSpecs
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void Should_keep_the_seed_nodes_when_only_seeds_are_given()
    {
        var (seeds, discovery) = new JoinArguments(Seeds: "10.0.0.1:4053, 10.0.0.2:4053").Resolve(NoEnvironment);

        Assert.Equal(["10.0.0.1:4053", "10.0.0.2:4053"], seeds);
        Assert.Null(discovery);
    }

    [Fact]
    public void Should_list_the_contact_points_with_the_default_management_port_for_config_discovery()
    {
        var (seeds, discovery) = new JoinArguments(Discovery: "config", ContactPoints: "10.0.0.1:8558,10.0.0.2:8558").Resolve(NoEnvironment);

        Assert.Empty(seeds);
        var config = Assert.IsType<ConfigDiscovery>(discovery);
        Assert.Equal(["10.0.0.1:8558", "10.0.0.2:8558"], config.ContactPoints);
        Assert.Equal(8558, config.ManagementPort);
    }

    [Fact]
    public void Should_take_the_pod_namespace_from_the_environment_unless_it_is_given()
    {
        Func<string, string?> pod = name => name == "POD_NAMESPACE" ? "training" : null;

        var fromEnvironment = Assert.IsType<KubernetesPodDiscovery>(new JoinArguments(Discovery: "kubernetes").Resolve(pod).Discovery);
        var given = Assert.IsType<KubernetesPodDiscovery>(new JoinArguments(Discovery: "kubernetes", PodNamespace: "research").Resolve(pod).Discovery);
        var neither = Assert.IsType<KubernetesPodDiscovery>(new JoinArguments(Discovery: "kubernetes").Resolve(NoEnvironment).Discovery);

        Assert.Equal("training", fromEnvironment.PodNamespace);
        Assert.Equal("research", given.PodNamespace);
        Assert.Null(neither.PodNamespace);
        Assert.Equal(("app=gppf", "management", 8558), (neither.PodLabelSelector, neither.ManagementPortName, neither.ManagementPort));
    }

    public static TheoryData<JoinArguments, string> BadCombinations => new()
    {
        { new JoinArguments(), "--seeds or --discovery is needed" },
        { new JoinArguments(Seeds: "h:4053", Discovery: "config"), "--seeds and --discovery: a node joins through one of them, not both" },
        { new JoinArguments(Discovery: "dns"), "--discovery must be config or kubernetes, got 'dns'" },
        { new JoinArguments(Seeds: "h:4053", ContactPoints: "h:8558"), "--contact-points: only with --discovery" },
        { new JoinArguments(Seeds: "h:4053", ManagementPort: 8558), "--management-port: only with --discovery" },
        { new JoinArguments(Seeds: "h:4053", PodLabelSelector: "app=x"), "--pod-label-selector: only with --discovery" },
        { new JoinArguments(Discovery: "config"), "--contact-points: --discovery config needs the management endpoints" },
        { new JoinArguments(Discovery: "config", ContactPoints: "h:8558", PodNamespace: "ns"), "--pod-namespace: only with --discovery kubernetes" },
        { new JoinArguments(Discovery: "config", ContactPoints: "h:8558", ManagementPortName: "mgmt"), "--management-port-name: only with --discovery kubernetes" },
        { new JoinArguments(Discovery: "kubernetes", ContactPoints: "h:8558"), "--contact-points: only with --discovery config" },
    };

    [Theory]
    [MemberData(nameof(BadCombinations))]
    public void Should_refuse_a_bad_combination_naming_the_option(JoinArguments arguments, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => arguments.Resolve(NoEnvironment));

        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, ClusterDiscovery, int, string> BadValues => new()
    {
        { "10.0.0.1", new ConfigDiscovery(["10.0.0.1:8558"]) { ManagementPort = 0 }, 1, "--management-port must be in [1, 65535], got 0" },
        { "10.0.0.1", new ConfigDiscovery(["10.0.0.1:8558"]) { ManagementPort = 4053 }, 1, "--management-port: 4053 is already --listen's port" },
        { "10.0.0.1", new ConfigDiscovery([]), 1, "--contact-points: at least one HOST:MGMTPORT is needed" },
        { "10.0.0.1", new ConfigDiscovery(["10.0.0.1"]), 1, "--contact-points: '10.0.0.1' is not HOST:PORT" },
        { "10.0.0.1", new ConfigDiscovery(["10.0.0.1:8558", "10.0.0.1:8558"]), 1, "--contact-points: '10.0.0.1:8558' is listed twice" },
        { "10.0.0.1", new ConfigDiscovery(["10.0.0.1:8558", "10.0.0.2:8558"]), 3, "--contact-points: 2 endpoint(s) cannot start a cluster of --min-nodes 3" },
        { "127.0.0.1", new KubernetesPodDiscovery(), 1, "--listen: '127.0.0.1' is a loopback address; with --discovery kubernetes" },
        { "localhost", new KubernetesPodDiscovery(), 1, "--listen: 'localhost' is a loopback address" },
        { "10.1.2.3", new KubernetesPodDiscovery { PodLabelSelector = " " }, 1, "--pod-label-selector: ' ' is not a label selector" },
        { "10.1.2.3", new KubernetesPodDiscovery { PodLabelSelector = "app={0}" }, 1, "--pod-label-selector: 'app={0}' is not a label selector" },
        { "10.1.2.3", new KubernetesPodDiscovery { PodNamespace = "Training" }, 1, "--pod-namespace: 'Training' is not a Kubernetes namespace name" },
        { "10.1.2.3", new KubernetesPodDiscovery { PodNamespace = "-x" }, 1, "--pod-namespace: '-x' is not a Kubernetes namespace name" },
        { "10.1.2.3", new KubernetesPodDiscovery { ManagementPortName = "akka-management-port" }, 1, "--management-port-name: 'akka-management-port' is not a Kubernetes port name" },
        { "10.1.2.3", new KubernetesPodDiscovery { ManagementPortName = "8558" }, 1, "--management-port-name: '8558' is not a Kubernetes port name" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Should_refuse_a_bad_discovery_value_naming_the_option(string listenHost, ClusterDiscovery discovery, int minNodes, string message)
    {
        var options = new ClusterOptions(listenHost, 4053, [], minNodes) { Discovery = discovery };

        var e = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_seed_nodes_and_discovery_together_when_the_options_are_built_in_code()
    {
        var options = new ClusterOptions("10.0.0.1", 4053, ["10.0.0.1:4053"]) { Discovery = new ConfigDiscovery(["10.0.0.1:8558"]) };

        var e = Assert.Throws<ArgumentException>(() => options.Validate());

        Assert.StartsWith("--seeds and --discovery", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_accept_the_documented_examples()
    {
        ClusterOptions[] examples =
        [
            new("10.0.0.1", 4053, [], MinNodes: 3) { Discovery = new ConfigDiscovery(["10.0.0.1:8558", "10.0.0.2:8558", "10.0.0.3:8558"]) },
            new("127.0.0.1", 4053, [], MinNodes: 3) { Discovery = new ConfigDiscovery(["127.0.0.1:8558", "127.0.0.1:8559", "127.0.0.1:8560"]) },
            new("10.244.1.7", 4053, [], MinNodes: 3) { Discovery = new KubernetesPodDiscovery { PodNamespace = "gppf-training" } },
        ];

        // Validate throws on a refused combination and returns the options it accepted.
        Assert.All(examples, options => Assert.Same(options, options.Validate()));
    }
}
