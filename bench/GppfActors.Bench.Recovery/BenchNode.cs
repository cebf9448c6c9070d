using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Remote;
using Akka.Remote.Transport;
using GppfActors.Actors;
using GppfActors.Actors.Devices;
using GppfActors.ClusterConfig.Node;

namespace GppfActors.Bench.Recovery;

/// <summary>
/// One cluster node of a trial: an ActorSystem configured by <see cref="NodeConfig.Cluster"/> (the
/// HOCON of <c>gppf node</c>: remoting on 127.0.0.1, the failure detector and the split-brain
/// resolver as given) with the throttler transport adapter added, so that the node can be cut off
/// the network. It hosts what a <c>gppf node</c> hosts, with simulated devices: the job's singleton
/// manager (the leader, and below it the coordinator, on the oldest node), the singleton proxy the
/// devices talk through, a node agent with its devices, and a probe and a listener recording events.
/// </summary>
internal sealed class BenchNode
{
    // The names ClusterNode gives the singleton manager and its proxy.
    private const string LeaderManager = "job-leader";
    private const string LeaderProxy = "job-leader-proxy";

    private BenchNode(int index, string name, ActorSystem system)
    {
        Index = index;
        Name = name;
        System = system;
        Address = Cluster.Get(system).SelfAddress;
    }

    public int Index { get; }

    /// <summary>host:port, as in device ids and on the timeline.</summary>
    public string Name { get; }

    public ActorSystem System { get; }

    public Address Address { get; }

    public static BenchNode Start(int index, int port, int seedPort, int numNodes, RecoveryOptions options, RecoveryLeader.Job job, SimulatedCollectives collectives,
        Timeline timeline)
    {
        var cluster = new ClusterOptions("127.0.0.1", port, [$"127.0.0.1:{seedPort.ToString(CultureInfo.InvariantCulture)}"], numNodes)
        {
            HeartbeatIntervalSeconds = options.HeartbeatSeconds,
            AcceptableHeartbeatPauseSeconds = options.FailureDetectionSeconds,
            StableAfterSeconds = options.StableAfterSeconds,
            AkkaConfigFile = options.AkkaConfigFile,
        };
        // Laid over the node's HOCON as --akka-config would be: the throttler adapter (which adds
        // "trttl" to the addresses' protocol, hence the seed's address) and the log level and
        // logger. The user's --akka-config file, if any, is laid over all of it.
        string level = options.Verbose ? "WARNING" : "ERROR";
        var overlay = ConfigurationFactory.ParseString($"""
            akka.remote.dot-netty.tcp.applied-adapters = [trttl]
            akka.cluster.seed-nodes = ["akka.trttl.tcp://{NodeConfig.SystemName}@127.0.0.1:{seedPort.ToString(CultureInfo.InvariantCulture)}"]
            akka.loglevel = {level}
            akka.stdout-loglevel = OFF
            akka.loggers = [{JsonSerializer.Serialize(TrialLogger.TypeName)}]
            """);
        var system = ActorSystem.Create(NodeConfig.SystemName, NodeConfig.ClusterSetup(cluster.Overrides().WithFallback(overlay).WithFallback(NodeConfig.Cluster(cluster, Config.Empty))));
        var node = new BenchNode(index, cluster.NodeName, system);
        var listener = system.ActorOf(TimelineListener.Props(timeline, index), "node-events");
        system.ActorOf(ClusterProbe.Props(timeline, index), "cluster-probe");
        system.ActorOf(ClusterSingletonManager.Props(RecoveryLeader.Props(job, listener, timeline, index), PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(system)), LeaderManager);
        var leader = system.ActorOf(ClusterSingletonProxy.Props($"/user/{LeaderManager}",
            ClusterSingletonProxySettings.Create(system).WithLogSingletonIdentificationFailure(false)), LeaderProxy);
        var devices = Enumerable.Range(0, options.DevicesPerNode).Select(d => new DeviceId("cpu", d) { Node = cluster.NodeName }).ToList();
        var timing = new DeviceTiming(TimeSpan.FromMilliseconds(options.StepMs), TimeSpan.FromMilliseconds(options.AlignMs), TimeSpan.FromSeconds(60));
        system.ActorOf(SimulatedNodeAgent.Props(devices, leader, collectives, timing, timeline, index), ActorPaths.NodeAgent);
        return node;
    }

    /// <summary>Drops every packet between this node and <paramref name="other"/>, both ways, on the connections this node opened.</summary>
    /// <remarks>
    /// The throttler keys a connection by the remote end's socket address, which is the peer's
    /// listening address only on connections this side opened; so a node is cut off by calling this
    /// on both sides of every pair.
    /// </remarks>
    public Task CutOffAsync(BenchNode other) =>
        ((IRemoteActorRefProvider)((ExtendedActorSystem)System).Provider).Transport
            .ManagementCommand(new SetThrottle(other.Address, ThrottleTransportAdapter.Direction.Both, Blackhole.Instance));

    /// <summary>Ends the node as a crashing process does: no coordinated shutdown, no leaving the cluster, its sockets closed.</summary>
    public void Crash() => ((ExtendedActorSystem)System).Abort();
}
