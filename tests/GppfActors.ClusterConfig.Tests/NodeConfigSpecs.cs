using Akka.Actor;
using Akka.Configuration;
using GppfActors.ClusterConfig.Node;
using Xunit;

namespace GppfActors.ClusterConfig.Tests;

/// <summary>
/// The HOCON a cluster node runs with: the documented failure-detection and split-brain settings,
/// loopback binding unless an address is named, and a user's --akka-config file laid over it.
/// </summary>
public sealed class NodeConfigSpecs : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "gppf-nodeconfig-" + Guid.NewGuid().ToString("N"));

    public NodeConfigSpecs() => Directory.CreateDirectory(dir);

    [Fact]
    public void Should_run_a_node_with_the_documented_cluster_settings()
    {
        var config = NodeConfig.Cluster(new ClusterOptions("127.0.0.1", 4053, ["127.0.0.1:4053", "10.0.0.2:4053"], MinNodes: 3), GppfActors.Actors.Checkpointing.CheckpointJournalConfig.Sqlite(Path.Combine(dir, "journal.db")));

        Assert.Equal("cluster", config.GetString("akka.actor.provider"));
        Assert.Equal("127.0.0.1", config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(4053, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["akka.tcp://gppf@127.0.0.1:4053", "akka.tcp://gppf@10.0.0.2:4053"], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(3, config.GetInt("akka.cluster.min-nr-of-members"));
        Assert.Equal(TimeSpan.FromSeconds(1), config.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval"));
        Assert.Equal(TimeSpan.FromSeconds(3), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal("off", config.GetString("akka.cluster.split-brain-resolver.down-all-when-unstable"));
        Assert.StartsWith("Akka.Cluster.SBR.SplitBrainResolverProvider", config.GetString("akka.cluster.downing-provider-class"), StringComparison.Ordinal);
        Assert.False(config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
    }

    [Fact]
    public void Should_lay_the_users_akka_config_over_the_node_settings()
    {
        var file = Path.Combine(dir, "tls.hocon");
        File.WriteAllText(file, """
            akka.remote.dot-netty.tcp {
              enable-ssl = true
              public-hostname = "trainer-3.example"
              ssl.certificate { path = "/etc/gppf/node.pfx", password = "secret" }
            }
            akka.cluster.split-brain-resolver.stable-after = 20s
            """);
        var options = new ClusterOptions("0.0.0.0", 4053, ["10.0.0.1:4053"]) { AkkaConfigFile = file }.Validate();

        var config = NodeConfig.Cluster(options, GppfActors.Actors.Checkpointing.CheckpointJournalConfig.Sqlite(Path.Combine(dir, "journal.db")));

        Assert.True(config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.Equal("trainer-3.example", config.GetString("akka.remote.dot-netty.tcp.public-hostname"));
        Assert.Equal("/etc/gppf/node.pfx", config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.path"));
        Assert.Equal(TimeSpan.FromSeconds(20), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        // What the file does not name stays as the node sets it.
        Assert.Equal("0.0.0.0", config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
    }

    [Fact]
    public void Should_refuse_a_missing_or_malformed_akka_config_naming_the_file()
    {
        var missing = Path.Combine(dir, "nope.hocon");
        var e1 = Assert.Throws<ArgumentException>(() => new ClusterOptions("127.0.0.1", 4053, ["127.0.0.1:4053"]) { AkkaConfigFile = missing }.Validate());
        Assert.Contains($"--akka-config: '{missing}' cannot be read", e1.Message);

        var bad = Path.Combine(dir, "bad.hocon");
        File.WriteAllText(bad, "akka.remote.dot-netty.tcp.hostname = ${node.address}");
        var e2 = Assert.Throws<ArgumentException>(() => new ClusterOptions("127.0.0.1", 4053, ["127.0.0.1:4053"]) { AkkaConfigFile = bad }.Validate());
        Assert.Contains($"--akka-config: '{bad}' is not valid HOCON", e2.Message);
    }

    [Theory]
    [InlineData("127.0.0.1", "--listen")]
    [InlineData("127.0.0.1:0", "--listen")]
    [InlineData("host:70000", "--seeds")]
    [InlineData(":4053", "--seeds")]
    public void Should_refuse_an_endpoint_that_is_not_host_and_port_naming_the_option(string text, string option)
    {
        var e = Assert.Throws<ArgumentException>(() => ClusterOptions.ParseEndpoint(text, option));
        Assert.StartsWith($"{option}: '{text}' is not HOST:PORT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_parse_bracketed_ipv6_endpoints()
    {
        Assert.Equal(("::1", 4053), ClusterOptions.ParseEndpoint("[::1]:4053", "--listen"));
    }

    [Fact]
    public void Should_configure_cluster_bootstrap_with_config_discovery_and_no_seed_nodes()
    {
        var options = new ClusterOptions("10.0.0.2", 4053, [], MinNodes: 3)
        {
            Discovery = new ConfigDiscovery(["10.0.0.1:8558", "10.0.0.2:8558", "10.0.0.3:8558"]) { ManagementPort = 8558 },
        }.Validate();

        var config = NodeConfig.Cluster(options, Config.Empty);

        Assert.Empty(config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(3, config.GetInt("akka.cluster.min-nr-of-members"));
        Assert.Equal("10.0.0.2", config.GetString("akka.management.http.hostname"));
        Assert.Equal(8558, config.GetInt("akka.management.http.port"));
        Assert.Equal("", config.GetString("akka.management.http.routes.remote-address"));
        Assert.Equal("", config.GetString("akka.management.http.routes.cluster-client-receptionist"));
        Assert.StartsWith("Akka.Management.Cluster.Bootstrap.ClusterBootstrapProvider", config.GetString("akka.management.http.routes.cluster-bootstrap"), StringComparison.Ordinal);
        Assert.Equal("gppf", config.GetString("akka.management.cluster.bootstrap.contact-point-discovery.service-name"));
        Assert.Equal(3, config.GetInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
        Assert.True(config.GetBoolean("akka.management.cluster.bootstrap.contact-point-discovery.contact-with-all-contact-points"));
        Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan("akka.management.cluster.bootstrap.contact-point-discovery.stable-margin"));
        Assert.False(config.GetBoolean("akka.management.cluster.bootstrap.contact-point.filter-on-fallback-port"));
        Assert.Equal("config", config.GetString("akka.discovery.method"));
        Assert.StartsWith("Akka.Discovery.Config.ConfigServiceDiscovery", config.GetString("akka.discovery.config.class"), StringComparison.Ordinal);
        Assert.Equal(["10.0.0.1:8558", "10.0.0.2:8558", "10.0.0.3:8558"], config.GetStringList("akka.discovery.config.services.gppf.endpoints"));
        // The other settings still hold.
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
    }

    [Fact]
    public async Task Should_resolve_the_contact_points_through_akka_discovery_from_the_generated_config()
    {
        var options = new ClusterOptions("127.0.0.1", 4053, [], MinNodes: 2) { Discovery = new ConfigDiscovery(["127.0.0.1:8601", "127.0.0.2:8602"]) }.Validate();
        // Akka's own discovery extension reads what NodeConfig wrote (a local system: no remoting needed).
        using var system = ActorSystem.Create("discovery", NodeConfig.Bootstrap(options).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = ERROR")));

        var resolved = await Akka.Discovery.Discovery.Get(system).Default.Lookup(new Akka.Discovery.Lookup(NodeConfig.ServiceName), TimeSpan.FromSeconds(3));

        Assert.Equal([("127.0.0.1", 8601), ("127.0.0.2", 8602)], resolved.Addresses.Select(a => (a.Host, a.Port ?? 0)).Order());
    }

    [Fact]
    public void Should_configure_kubernetes_discovery_from_the_options()
    {
        var options = new ClusterOptions("10.244.1.7", 4053, [], MinNodes: 4)
        {
            Discovery = new KubernetesPodDiscovery { PodLabelSelector = "app=gppf,run=exp1", PodNamespace = "training", ManagementPortName = "mgmt", ManagementPort = 9000 },
        }.Validate();

        var config = NodeConfig.Cluster(options, Config.Empty);

        Assert.Empty(config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("10.244.1.7", config.GetString("akka.management.http.hostname"));
        Assert.Equal(9000, config.GetInt("akka.management.http.port"));
        Assert.Equal(4, config.GetInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
        Assert.Equal("mgmt", config.GetString("akka.management.cluster.bootstrap.contact-point-discovery.port-name"));
        Assert.Equal("kubernetes-api", config.GetString("akka.discovery.method"));
        Assert.Equal("GppfActors.ClusterConfig.Node.KubernetesPodLookup, GppfActors.ClusterConfig", config.GetString("akka.discovery.kubernetes-api.class"));
        Assert.Equal("app=gppf,run=exp1", config.GetString("akka.discovery.kubernetes-api.pod-label-selector"));
        Assert.Equal("training", config.GetString("akka.discovery.kubernetes-api.pod-namespace"));
        // What every pod has: the API server in the environment, the service account's token and CA.
        Assert.Equal("KUBERNETES_SERVICE_HOST", config.GetString("akka.discovery.kubernetes-api.api-service-host-env-name"));
        Assert.Equal("KUBERNETES_SERVICE_PORT", config.GetString("akka.discovery.kubernetes-api.api-service-port-env-name"));
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/token", config.GetString("akka.discovery.kubernetes-api.api-token-path"));
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", config.GetString("akka.discovery.kubernetes-api.api-ca-path"));
    }

    [Fact]
    public void Should_have_akka_discovery_load_the_kubernetes_lookup_from_the_generated_config()
    {
        var options = new ClusterOptions("10.244.1.7", 4053, []) { Discovery = new KubernetesPodDiscovery() }.Validate();
        using var system = ActorSystem.Create("discovery", NodeConfig.Bootstrap(options).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = ERROR")));

        Assert.IsType<KubernetesPodLookup>(Akka.Discovery.Discovery.Get(system).Default);
    }

    [Fact]
    public void Should_leave_the_namespace_to_the_pod_when_kubernetes_options_are_defaults()
    {
        var options = new ClusterOptions("10.244.1.7", 4053, []) { Discovery = new KubernetesPodDiscovery() }.Validate();

        var config = NodeConfig.Cluster(options, Config.Empty);

        Assert.Equal("app=gppf", config.GetString("akka.discovery.kubernetes-api.pod-label-selector"));
        Assert.Equal("", config.GetString("akka.discovery.kubernetes-api.pod-namespace"));
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/namespace", config.GetString("akka.discovery.kubernetes-api.pod-namespace-path"));
        Assert.Equal("management", config.GetString("akka.management.cluster.bootstrap.contact-point-discovery.port-name"));
        Assert.Equal(8558, config.GetInt("akka.management.http.port"));
    }

    [Fact]
    public void Should_leave_bootstrap_out_when_the_node_joins_through_seeds()
    {
        var config = NodeConfig.Cluster(new ClusterOptions("127.0.0.1", 4053, ["127.0.0.1:4053"]).Validate(), Config.Empty);

        Assert.Equal(["akka.tcp://gppf@127.0.0.1:4053"], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.False(config.HasPath("akka.management.http.port"));
        Assert.False(config.HasPath("akka.discovery.method"));
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
