using System.Globalization;
using System.Text.Json;
using Akka.Actor.Setup;
using Akka.Configuration;
using GppfActors.Actors;
using GppfActors.Actors.Logging;
using GppfActors.Actors.Messages;
using Microsoft.Extensions.Logging;

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
    /// <item>with <c>--discovery</c> there are no seed nodes: Cluster Bootstrap forms or joins the
    /// cluster (<see cref="Bootstrap"/>);</item>
    /// <item><c>--akka-config</c>: the user's HOCON file, laid over all of the above.</item>
    /// </list>
    /// The journal (<paramref name="journal"/>) is opened only by the coordinator's node (the oldest).
    /// </remarks>
    public static Config Cluster(ClusterOptions options, Config journal)
    {
        // Akka.Management's bootstrap refuses to run when seed nodes are configured, so with
        // discovery the list stays empty and the node waits for the bootstrap to join it.
        var seeds = options.Discovery is not null ? "" : string.Join(", ", options.Seeds.Select(seed =>
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
        return options.Overrides().WithFallback(ConfigurationFactory.ParseString(hocon)).WithFallback(Bootstrap(options))
            .WithFallback(Common).WithFallback(journal);
    }

    /// <summary>
    /// Cluster Bootstrap (Akka.Management) with the discovery method of <c>--discovery</c>; empty
    /// with seed nodes. The packages' own reference settings are the fallback, so what is not named
    /// here is Akka's documented default.
    /// </summary>
    /// <remarks>
    /// Every setting and why:
    /// <list type="bullet">
    /// <item>the HTTP endpoint is served on the <c>--listen</c> host at <c>--management-port</c>: the
    /// same host the other nodes reach this one at, and the endpoint a node compares with the
    /// discovered ones to know which of them is itself (the lowest forms a new cluster);</item>
    /// <item>only the bootstrap's routes are served (the remote-address and cluster-client routes are
    /// switched off): the endpoint has no authentication, so it offers nothing it need not;</item>
    /// <item><c>required-contact-point-nr</c> is <c>--min-nodes</c>: a new cluster is formed only when
    /// that many nodes answer, so <c>--min-nodes</c> gates the start as it does with seeds (and with
    /// <c>contact-with-all-contact-points</c>, Akka's default, every discovered endpoint must have
    /// answered, so two halves never form two clusters);</item>
    /// <item><c>stable-margin</c> and <c>probe-interval</c> 5 s (Akka's defaults): a start costs
    /// seconds once, while a decision on a list still changing could form the cluster too early;</item>
    /// <item>config: the endpoints are exactly the management ports, so the discovered list is not
    /// filtered on a fallback port (<c>filter-on-fallback-port = off</c>): with several nodes on one
    /// host, that filter would keep only the endpoint on this node's own port;</item>
    /// <item>kubernetes: <see cref="KubernetesPodLookup"/> (under Akka.Discovery.KubernetesApi's
    /// section name and keys) lists the pods that match the label selector, in the namespace given or
    /// the pod's own (the service account's namespace file), as the service account (its token and
    /// CA, the API server from <c>KUBERNETES_SERVICE_HOST</c>/<c>_PORT</c>, all of which every pod
    /// has), and they are probed at the container port named <c>--management-port-name</c>; their
    /// IPs are the endpoints, which is what <c>--listen $(POD_IP):PORT</c> makes each node's own
    /// address;</item>
    /// <item><c>new-cluster-enabled</c> on (Akka's default): a cluster that ended (a full outage, or
    /// a job that finished) is formed again by the same command with <c>--resume</c>; a node that
    /// finds a running cluster joins it whatever this says.</item>
    /// </list>
    /// </remarks>
    public static Config Bootstrap(ClusterOptions options)
    {
        if (options.Discovery is not { } discovery)
        {
            return Config.Empty;
        }
        string Seconds(double s) => s.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        string Quote(string s) => JsonSerializer.Serialize(s);
        var (method, methodSettings, portName, filterOnFallbackPort, fallback) = discovery switch
        {
            ConfigDiscovery config => ("config", $$"""
                config.services.{{ServiceName}}.endpoints = [{{string.Join(", ", config.ContactPoints.Select(Quote))}}]
                """, "", "off", Akka.Discovery.DiscoveryProvider.DefaultConfiguration()),
            KubernetesPodDiscovery pods => ("kubernetes-api", $$"""
                kubernetes-api {
                  class = {{Quote(typeof(KubernetesPodLookup).FullName + ", " + typeof(KubernetesPodLookup).Assembly.GetName().Name)}}
                  api-service-host-env-name = "KUBERNETES_SERVICE_HOST"
                  api-service-port-env-name = "KUBERNETES_SERVICE_PORT"
                  api-token-path = "/var/run/secrets/kubernetes.io/serviceaccount/token"
                  api-ca-path = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
                  pod-namespace-path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
                  pod-namespace = {{Quote(pods.PodNamespace ?? "")}}
                  pod-label-selector = {{Quote(pods.PodLabelSelector)}}
                }
                """, pods.ManagementPortName, "on", Akka.Discovery.DiscoveryProvider.DefaultConfiguration()),
            _ => throw new ArgumentException($"--discovery: '{discovery.Method}' is not a method this version knows"),
        };
        var hocon = $$"""
            akka.management {
              http {
                hostname = {{Quote(options.ListenHost)}}
                port = {{discovery.ManagementPort.ToString(CultureInfo.InvariantCulture)}}
                routes {
                  remote-address = ""
                  cluster-client-receptionist = ""
                }
              }
              cluster.bootstrap {
                new-cluster-enabled = on
                contact-point-discovery {
                  service-name = {{Quote(ServiceName)}}
                  discovery-method = akka.discovery
                  port-name = {{Quote(portName)}}
                  required-contact-point-nr = {{options.MinNodes.ToString(CultureInfo.InvariantCulture)}}
                  contact-with-all-contact-points = true
                  stable-margin = {{Seconds(discovery.StableMarginSeconds)}}
                }
                contact-point {
                  probe-interval = {{Seconds(discovery.ProbeIntervalSeconds)}}
                  filter-on-fallback-port = {{filterOnFallbackPort}}
                }
              }
            }
            akka.discovery {
              method = {{method}}
              {{methodSettings}}
            }
            """;
        return ConfigurationFactory.ParseString(hocon).WithFallback(fallback).WithFallback(Akka.Management.Dsl.AkkaManagementProvider.DefaultConfiguration());
    }

    /// <summary>The name every node looks up in discovery (the config method's service; Kubernetes uses the label selector).</summary>
    public const string ServiceName = SystemName;

    /// <summary>The actor system's name on every node (part of every remote address).</summary>
    public const string SystemName = "gppf";

    /// <summary>The setup of a cluster node's actor system: the config, and Hyperion restricted to the project's types.</summary>
    public static ActorSystemSetup ClusterSetup(Config config) => ActorSystemConfig.Setup(config);

    /// <summary>
    /// The setup of a node's actor system (<see cref="ActorSystemConfig.Setup"/>); with
    /// <paramref name="loggers"/>, Akka's own log goes to them instead of standard output
    /// (<see cref="RunLogSetup"/>), so a host that writes JSON lines has every line in one format.
    /// </summary>
    public static ActorSystemSetup Setup(Config config, ILoggerFactory? loggers) =>
        loggers is null
            ? ActorSystemConfig.Setup(config)
            : ActorSystemConfig.Setup(RunLogSetup.Config.WithFallback(config)).And(new RunLogSetup(loggers));
}
