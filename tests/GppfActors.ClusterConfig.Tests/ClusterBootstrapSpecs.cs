using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using GppfActors.ClusterConfig.Node;
using GppfActors.Testing;
using Xunit;

namespace GppfActors.ClusterConfig.Tests;

/// <summary>
/// Real actor systems with remoting on 127.0.0.1, configured by <see cref="NodeConfig.Cluster"/> with
/// config discovery and no seed nodes and started by <see cref="ClusterBootstrapStart"/> as
/// <c>gppf node</c> starts them: Cluster Bootstrap alone must make them one cluster.
/// </summary>
public sealed class ClusterBootstrapSpecs
{
    private static readonly TimeSpan FormationDeadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Should_form_one_cluster_with_every_member_up_when_nodes_start_with_config_discovery_and_no_seeds()
    {
        const int numNodes = 3;
        var ports = LoopbackPorts.Ascending(2 * numNodes);
        var remotingPorts = ports[..numNodes];
        var managementPorts = ports[numNodes..];
        var contactPoints = managementPorts.Select(p => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture)).ToList();
        var systems = new List<ActorSystem>();
        try
        {
            var watch = Stopwatch.StartNew();
            // Started highest address first, so the node that must form the cluster is the last to come up.
            foreach (int i in Enumerable.Range(0, numNodes).Reverse())
            {
                var options = new ClusterOptions("127.0.0.1", remotingPorts[i], [], MinNodes: numNodes)
                {
                    Discovery = new ConfigDiscovery(contactPoints) { ManagementPort = managementPorts[i], StableMarginSeconds = 1, ProbeIntervalSeconds = 1 },
                }.Validate();
                var config = NodeConfig.Cluster(options, Config.Empty);
                Assert.Empty(config.GetStringList("akka.cluster.seed-nodes"));
                var system = ActorSystem.Create(NodeConfig.SystemName, NodeConfig.ClusterSetup(
                    ConfigurationFactory.ParseString("akka.loglevel = ERROR").WithFallback(config)));
                systems.Add(system);
                ClusterBootstrapStart.Run(system, options);
            }

            var expected = remotingPorts.Select(p => $"akka.tcp://{NodeConfig.SystemName}@127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}").Order().ToList();
            foreach (var system in systems)
            {
                await AllUp(Cluster.Get(system), expected, watch);
            }
            // One cluster: every node sees the same leader, and it is the lowest address (the node
            // whose management endpoint is the lowest contact point formed it).
            var leaders = systems.Select(s => Cluster.Get(s).State.Leader?.ToString()).Distinct().ToList();
            Assert.Equal([expected[0]], leaders);
        }
        finally
        {
            await Task.WhenAll(systems.Select(s => s.Terminate()));
        }
    }

    [Fact]
    public async Task Should_refuse_to_start_naming_the_option_when_the_management_port_is_taken()
    {
        var ports = LoopbackPorts.Ascending(2);
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, ports[1]);
        taken.Start();
        var options = new ClusterOptions("127.0.0.1", ports[0], [])
        {
            Discovery = new ConfigDiscovery(["127.0.0.1:" + ports[1].ToString(CultureInfo.InvariantCulture)]) { ManagementPort = ports[1] },
        }.Validate();
        var system = ActorSystem.Create(NodeConfig.SystemName, NodeConfig.ClusterSetup(
            ConfigurationFactory.ParseString("akka.loglevel = OFF").WithFallback(NodeConfig.Cluster(options, Config.Empty))));
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => ClusterBootstrapStart.Run(system, options));

            Assert.StartsWith($"--management-port: cannot serve Akka.Management on 127.0.0.1:{ports[1].ToString(CultureInfo.InvariantCulture)}", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task Should_serve_the_seed_nodes_route_and_take_the_same_port_again_right_after_a_restart()
    {
        var ports = LoopbackPorts.Ascending(2);
        string managementEndpoint = "127.0.0.1:" + ports[1].ToString(CultureInfo.InvariantCulture);
        var options = new ClusterOptions("127.0.0.1", ports[0], [])
        {
            Discovery = new ConfigDiscovery([managementEndpoint]) { ManagementPort = ports[1], StableMarginSeconds = 1, ProbeIntervalSeconds = 1 },
        }.Validate();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        // The second start follows the first at once, with the client's connection to the first
        // still in its pool: the endpoint closes what it opened, and a restarted node gets its port back.
        foreach (int start in new[] { 1, 2 })
        {
            var system = ActorSystem.Create(NodeConfig.SystemName, NodeConfig.ClusterSetup(
                ConfigurationFactory.ParseString("akka.loglevel = ERROR").WithFallback(NodeConfig.Cluster(options, Config.Empty))));
            try
            {
                ClusterBootstrapStart.Run(system, options);

                var answer = await http.GetStringAsync($"http://{managementEndpoint}/bootstrap/seed-nodes");

                // Akka.Management's answer names this node's remoting address.
                using var json = System.Text.Json.JsonDocument.Parse(answer);
                var self = json.RootElement.GetProperty("SelfNode");
                Assert.Equal(("127.0.0.1", ports[0]), (self.GetProperty("Host").GetString(), self.GetProperty("Port").GetInt32()));
            }
            finally
            {
                await system.Terminate();
            }
        }
    }

    /// <summary>Waits until <paramref name="cluster"/> sees exactly <paramref name="expected"/>, every one Up, before the deadline.</summary>
    private static async Task AllUp(Cluster cluster, IReadOnlyList<string> expected, Stopwatch since)
    {
        TimeSpan Left() => FormationDeadline > since.Elapsed ? FormationDeadline - since.Elapsed : TimeSpan.Zero;
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        try
        {
            await up.Task.WaitAsync(Left());
            // This node is Up; the gossip that says so may be ahead of the others' status by a round.
            while (!Matches(cluster.State, expected))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100)).WaitAsync(Left());
            }
        }
        catch (TimeoutException)
        {
            var seen = string.Join(", ", cluster.State.Members.Select(m => $"{m.Address} {m.Status}"));
            Assert.Fail($"{cluster.SelfAddress}: not {expected.Count} members Up within {FormationDeadline.TotalSeconds} s; it sees [{seen}]");
        }
    }

    private static bool Matches(ClusterEvent.CurrentClusterState state, IReadOnlyList<string> expected) =>
        state.Members.All(m => m.Status == MemberStatus.Up) &&
        state.Members.Select(m => m.Address.ToString()).Order().SequenceEqual(expected);
}
