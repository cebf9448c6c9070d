using System.Globalization;
using System.Text.Json;
using Akka.Actor.Setup;
using Akka.Configuration;
using GppfActors.Actors;
using GppfActors.Actors.Messages;

namespace GppfActors.ClusterConfig.Node;

/// <summary>The HOCON of a node's actor system, in one place.</summary>
public static class NodeConfig
{
    /// <summary>
    /// Logging kept to warnings (progress is shown by the host, not the log), and top-level actors
    /// stopped rather than restarted on failure: a restarted coordinator would start over at its
    /// first epoch waiting for devices that never announce themselves again. The coordinator
    /// reports its failure before it stops.
    /// </summary>
    public static Config Common { get; } = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.actor.guardian-supervisor-strategy = "Akka.Actor.StoppingSupervisorStrategy"
        """).WithFallback(ActorSystemConfig.Base);

    /// <summary>One process, no remoting, the journal of <paramref name="journal"/> (see <see cref="Jobs.JournalStore"/>).</summary>
    public static Config SingleProcess(Config journal) =>
        Common.WithFallback(journal);

    /// <summary>
    /// A node of a training cluster: Akka.Cluster over Akka.Remote on <c>--listen</c>, the seed
    /// nodes, <c>min-nr-of-members</c> (training starts once that many nodes are up), and the
    /// split-brain resolver.
    /// </summary>
    /// <remarks>
    /// Every setting and why:
    /// <list type="bullet">
    /// <item>failure detector: a heartbeat every second and 3 s of tolerated silence (Akka's defaults):
    /// a killed process is marked unreachable after about 4 s;</item>
    /// <item>split-brain resolver, keep-majority: the side with more nodes keeps running, the other is
    /// downed, so there is never a coordinator on each side; <c>stable-after</c> 5 s: how long
    /// membership must be quiet before it decides (the time from unreachable to down);</item>
    /// <item><c>down-all-when-unstable</c> off: with nobody restarting processes automatically, downing
    /// everything on a flapping network would end a run that could go on;</item>
    /// <item>downed nodes run coordinated shutdown (the default), so a downed node's process ends;</item>
    /// <item>Hyperion is bound to the project's message marker only and, through the setup, refuses
    /// every type outside the project and plain .NET data (<see cref="ProjectTypeFilter"/>). Akka.Remote
    /// itself carries no TLS by default: across machines, enable <c>akka.remote.dot-netty.tcp.enable-ssl</c>
    /// with a certificate in a file given to <c>--akka-config</c> (see the README), or run the cluster
    /// on a private network.</item>
    /// <item><c>--akka-config</c>: the user's HOCON file, laid over all of the above.</item>
    /// </list>
    /// The journal (<paramref name="journal"/>) is opened only by the coordinator's node (the oldest).
    /// </remarks>
    public static Config Cluster(ClusterOptions options, Config journal)
    {
        var seeds = string.Join(", ", options.Seeds.Select(seed =>
        {
            var (host, port) = ClusterOptions.ParseEndpoint(seed, "--seeds");
            return JsonSerializer.Serialize($"akka.tcp://{SystemName}@{host}:{port.ToString(CultureInfo.InvariantCulture)}");
        }));
        string Seconds(double s) => s.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        var hocon = $$"""
            akka {
              actor.provider = cluster
              # A dead peer is reported by the cluster (unreachable, removed) in one line each; the
              # transport's own association errors would repeat it with stack traces.
              remote.log-remote-lifecycle-events = off
              remote.dot-netty.tcp {
                hostname = {{JsonSerializer.Serialize(options.ListenHost)}}
                port = {{options.ListenPort.ToString(CultureInfo.InvariantCulture)}}
              }
              cluster {
                seed-nodes = [{{seeds}}]
                min-nr-of-members = {{options.MinNodes.ToString(CultureInfo.InvariantCulture)}}
                failure-detector {
                  heartbeat-interval = {{Seconds(options.HeartbeatIntervalSeconds)}}
                  acceptable-heartbeat-pause = {{Seconds(options.AcceptableHeartbeatPauseSeconds)}}
                }
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver {
                  active-strategy = keep-majority
                  stable-after = {{Seconds(options.StableAfterSeconds)}}
                  down-all-when-unstable = off
                }
                run-coordinated-shutdown-when-down = on
              }
              coordinated-shutdown.exit-clr = off
            }
            """;
        return options.Overrides().WithFallback(ConfigurationFactory.ParseString(hocon)).WithFallback(Common).WithFallback(journal);
    }

    /// <summary>The actor system's name on every node (part of every remote address).</summary>
    public const string SystemName = "gppf";

    /// <summary>The setup of a cluster node's actor system: the config, and Hyperion restricted to the project's types.</summary>
    public static ActorSystemSetup ClusterSetup(Config config) => ActorSystemConfig.Setup(config);
}
