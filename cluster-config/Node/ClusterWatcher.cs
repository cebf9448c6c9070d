using Akka.Actor;
using Akka.Cluster;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// Prints one line per membership change of the cluster as this node sees it (a node joined, left,
/// became unreachable or reachable again, was removed), and ends this node's run when the cluster
/// removes this node itself (it was downed). One per node; reports to the node's listener.
/// </summary>
public sealed class ClusterWatcher : ReceiveActor
{
    private readonly IActorRef listener;
    private readonly Address self;

    public ClusterWatcher(IActorRef listener)
    {
        this.listener = listener;
        self = Cluster.Get(Context.System).SelfAddress;
        Receive<ClusterEvent.MemberUp>(m => Line($"node {Name(m.Member.Address)} joined"));
        Receive<ClusterEvent.MemberLeft>(m => Line($"node {Name(m.Member.Address)} is leaving"));
        Receive<ClusterEvent.MemberExited>(m => Line($"node {Name(m.Member.Address)} left"));
        Receive<ClusterEvent.UnreachableMember>(m => Line($"node {Name(m.Member.Address)} is unreachable"));
        Receive<ClusterEvent.ReachableMember>(m => Line($"node {Name(m.Member.Address)} is reachable again"));
        Receive<ClusterEvent.MemberRemoved>(m =>
        {
            Line($"node {Name(m.Member.Address)} was removed from the cluster (it was {m.PreviousStatus.ToString().ToLowerInvariant()})");
            if (m.Member.Address.Equals(self))
            {
                listener.Tell(new NodeRemoved($"this node was removed from the cluster ({m.PreviousStatus})"));
            }
        });
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
    }

    public static Props Props(IActorRef listener) => Akka.Actor.Props.Create(() => new ClusterWatcher(listener));

    protected override void PreStart() => Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
        typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);

    private void Line(string text) => listener.Tell(new NodeLog(text));

    private static string Name(Address address) => $"{address.Host}:{address.Port}";
}

/// <summary>The cluster removed this node (it was downed): its run is over.</summary>
public sealed record NodeRemoved(string Reason);
