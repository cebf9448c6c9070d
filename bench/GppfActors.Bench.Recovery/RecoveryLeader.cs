using Akka.Actor;
using Akka.Cluster;
using GppfActors.Actors;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;
using GppfActors.Model.Schedules;

namespace GppfActors.Bench.Recovery;

/// <summary>
/// The benchmark's job leader: a cluster singleton (created by every node's singleton manager,
/// running on the oldest node) that starts the real <see cref="TrainingCoordinator"/> with its real
/// sampler and schedule, then does what <c>JobLeader</c>'s leading state does: relays the cluster's
/// reachability events and downed nodes to the coordinator and forwards every other message that reaches the
/// singleton (the devices' messages, through the singleton proxy). No run folder, journal or
/// checkpoints. Parent of the coordinator.
/// </summary>
internal sealed class RecoveryLeader : ReceiveActor
{
    private readonly Job job;
    private readonly IActorRef listener;
    private readonly Timeline timeline;
    private readonly int node;
    private IActorRef coordinator = ActorRefs.Nobody;

    public RecoveryLeader(Job job, IActorRef listener, Timeline timeline, int node)
    {
        this.job = job;
        this.listener = listener;
        this.timeline = timeline;
        this.node = node;
        Receive<ClusterEvent.UnreachableMember>(m => coordinator.Tell(new NodeReachability(m.Member.Address.ToString(), Reachable: false)));
        Receive<ClusterEvent.ReachableMember>(m => coordinator.Tell(new NodeReachability(m.Member.Address.ToString(), Reachable: true)));
        Receive<ClusterEvent.MemberDowned>(m =>
        {
            if (!m.Member.Address.Equals(Cluster.Get(Context.System).SelfAddress))
            {
                coordinator.Tell(new NodeDowned(m.Member.Address.ToString()));
            }
        });
        Receive<Terminated>(_ => { });
        ReceiveAny(m => coordinator.Forward(m));
    }

    /// <summary>The job: paper-r50's eight tasks, weights and batch sizes, and the devices the first epoch waits for.</summary>
    public sealed record Job(int ExpectedDevices, ulong Seed)
    {
        public const long MaxSteps = 1_000_000;

        public TaskSamplerState Sampler() => new(
        [
            new("in21k", 4.0, 13_000_000, 96), new("coco", 2.5, 118_000, 8), new("lvis", 2.5, 100_000, 8), new("objects365", 4.0, 1_700_000, 12),
            new("openimages", 4.0, 1_700_000, 12), new("ade20k", 1.0, 20_000, 8), new("cocostuff", 2.0, 118_000, 8), new("voc", 1.0, 10_000, 8),
        ], Seed, SamplingMode.Simt);

        public static ScheduleState Schedule() => new(new CosineWarmupSchedule(0.16, 50, MaxSteps, 0), new TemperatureSchedule(5.0, 0.01, MaxSteps));

        /// <summary>No checkpoints, no evaluation, no final digest: the trial ends the cluster after the first step of the new epoch.</summary>
        public CoordinatorSettings Settings() => new(MaxSteps, ExpectedDevices, CollectiveTimeoutSeconds: 60) { VerifyReplicas = false };
    }

    public static Props Props(Job job, IActorRef listener, Timeline timeline, int node) =>
        Akka.Actor.Props.Create(() => new RecoveryLeader(job, listener, timeline, node));

    /// <summary>Policy, as the job leader's: the coordinator reports its own failure before it stops, and is not restarted.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(0, TimeSpan.Zero, _ => Directive.Stop);

    protected override void PreStart()
    {
        coordinator = Context.Watch(Context.ActorOf(TrainingCoordinator.Props(job.Settings(), job.Sampler(), Job.Schedule(), listener), ActorPaths.Coordinator));
        timeline.Add(node, MarkKind.CoordinatorStarted, Timeline.NodeName(Cluster.Get(Context.System).SelfAddress));
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IReachabilityEvent),
            typeof(ClusterEvent.MemberDowned));
    }

    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
}
