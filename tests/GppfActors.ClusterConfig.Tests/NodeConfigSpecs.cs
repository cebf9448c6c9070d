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

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
