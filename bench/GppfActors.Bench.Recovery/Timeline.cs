using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using GppfActors.Actors.Coordinator;

namespace GppfActors.Bench.Recovery;

/// <summary>What happened, where and when: every node of a trial writes here (all nodes live in one process).</summary>
internal enum MarkKind
{
    MemberUp,
    Unreachable,
    Reachable,
    Downed,
    Removed,
    CoordinatorStarted,
    EpochFormed,
    StepApplied,
    Aligned,
    TrainingFailed,
}

/// <summary>One event: monotonic timestamp (<see cref="Stopwatch.GetTimestamp"/>), the node that saw it, and what it was about.</summary>
internal sealed record Mark(long Ticks, int Node, MarkKind Kind, string Subject = "", long Epoch = -1, long Step = -1, int WorldSize = 0);

/// <summary>The events of one trial, on one monotonic clock shared by every node of the process.</summary>
internal sealed class Timeline
{
    private readonly ConcurrentQueue<Mark> marks = new();

    public static long Now => Stopwatch.GetTimestamp();

    public static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

    public void Add(int node, MarkKind kind, string subject = "", long epoch = -1, long step = -1, int worldSize = 0) =>
        marks.Enqueue(new Mark(Now, node, kind, subject, epoch, step, worldSize));

    public IReadOnlyList<Mark> Snapshot() => [.. marks];

    /// <summary>Polls until <paramref name="found"/> picks a mark, or the time is up (then null).</summary>
    public async Task<Mark?> WaitForAsync(Func<IReadOnlyList<Mark>, Mark?> found, TimeSpan timeout)
    {
        var deadline = Now + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Now < deadline)
        {
            if (found(Snapshot()) is { } mark)
            {
                return mark;
            }
            await Task.Delay(10);
        }
        return null;
    }

    /// <summary>A node's name in marks and device ids: host:port, as <c>ClusterOptions.NodeName</c> writes it.</summary>
    public static string NodeName(Address address) => $"{address.Host}:{address.Port}";
}

/// <summary>
/// Records this node's view of the cluster (a member up, unreachable, reachable again, downed,
/// removed) on the trial's timeline. One per node, child of the node's root.
/// </summary>
internal sealed class ClusterProbe : ReceiveActor
{
    public ClusterProbe(Timeline timeline, int node)
    {
        Receive<ClusterEvent.MemberUp>(m => timeline.Add(node, MarkKind.MemberUp, Timeline.NodeName(m.Member.Address)));
        Receive<ClusterEvent.UnreachableMember>(m => timeline.Add(node, MarkKind.Unreachable, Timeline.NodeName(m.Member.Address)));
        Receive<ClusterEvent.ReachableMember>(m => timeline.Add(node, MarkKind.Reachable, Timeline.NodeName(m.Member.Address)));
        Receive<ClusterEvent.MemberDowned>(m => timeline.Add(node, MarkKind.Downed, Timeline.NodeName(m.Member.Address)));
        Receive<ClusterEvent.MemberRemoved>(m => timeline.Add(node, MarkKind.Removed, Timeline.NodeName(m.Member.Address)));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
    }

    public static Props Props(Timeline timeline, int node) => Akka.Actor.Props.Create(() => new ClusterProbe(timeline, node));

    protected override void PreStart() => Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
        typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
}

/// <summary>
/// The coordinator's listener (what <c>gppf node</c> prints as progress and membership lines),
/// recording new epochs, applied steps and failures on the timeline. One per node; the one on the
/// coordinator's node is used.
/// </summary>
internal sealed class TimelineListener : ReceiveActor
{
    public TimelineListener(Timeline timeline, int node)
    {
        Receive<MembershipChanged>(m => timeline.Add(node, MarkKind.EpochFormed, m.Reason, m.Epoch, worldSize: m.WorldSize));
        Receive<TrainingProgress>(m => timeline.Add(node, MarkKind.StepApplied, epoch: m.Epoch, step: m.Step, worldSize: m.WorldSize));
        Receive<TrainingFailed>(m => timeline.Add(node, MarkKind.TrainingFailed, m.Reason, step: m.Step));
        ReceiveAny(_ => { });
    }

    public static Props Props(Timeline timeline, int node) => Akka.Actor.Props.Create(() => new TimelineListener(timeline, node));
}
