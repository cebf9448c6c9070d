using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// The cluster singleton of a job, created by the singleton manager of every node and running on the
/// oldest: takes the run folder, starts the checkpoint journal, prepares the run (resume point,
/// sampler, schedule) and starts the coordinator; then hands it every message that reaches the
/// singleton (devices talk to it through the singleton proxy) and the cluster's reachability
/// events. Parent of the journal and the coordinator.
/// </summary>
public sealed class JobLeader : ReceiveActor, IWithStash
{
    private readonly JobSpec spec;
    private readonly IActorRef listener;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private RunFolder? folder;
    private JournalStore store = null!;
    private IActorRef? coordinator;

    public JobLeader(JobSpec spec, IActorRef listener)
    {
        this.spec = spec;
        this.listener = listener;
        Preparing();
    }

    /// <summary>What the leader needs to run the job; the same on every node.</summary>
    /// <remarks><paramref name="CoordinatorSeen"/>: the node whose coordinator this node was told about (<see cref="JobStarted"/>), if any.</remarks>
    public sealed record JobSpec(JobConfig Job, string ResolvedJson, ResumeOptions Resume, int ExpectedDevices, JobDatasets Datasets, Func<bool> EndedHere,
        Func<string?> CoordinatorSeen);

    public static Props Props(JobSpec spec, IActorRef listener) => Akka.Actor.Props.Create(() => new JobLeader(spec, listener));

    public IStash Stash { get; set; } = null!;

    /// <summary>Policy: the journal has its own back-off supervisor; the coordinator reports its own failure before it stops, and is not restarted.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(0, TimeSpan.Zero, _ => Directive.Stop);

    protected override void PreStart()
    {
        if (spec.EndedHere())
        {
            // The job already ended on this node; the singleton only moved here while nodes leave.
            Become(() => ReceiveAny(_ => { }));
            return;
        }
        var self = Cluster.Get(Context.System).SelfAddress.ToString();
        if (spec.CoordinatorSeen() is { } previous && previous != self)
        {
            // The singleton moved here because the coordinator's node was lost mid-run. Its state
            // (step, sampler, schedule, epoch) went with it; starting over would be wrong.
            FailToStart($"the coordinator's node {previous} was lost while the job ran, and this version cannot move a running coordinator to another node; " +
                "start every node again with --resume to continue from the newest committed checkpoint");
            return;
        }
        try
        {
            folder = RunFolder.Open(spec.Job.Checkpoint.Dir, JobObjects.Identity(spec.Job));
            store = JournalStore.For(spec.Job);
            store.Verify();
        }
        catch (Exception e) when (e is RunFolderException or IOException or ArgumentException)
        {
            FailToStart(e.Message);
            return;
        }
        var journal = Context.ActorOf(CheckpointJournal.SupervisedProps(store.PersistenceId(spec.Job, folder), JobObjects.Retention(spec.Job),
            EnvironmentCrashInjector.FromEnvironment()), ActorPaths.CheckpointJournalSupervisor);
        var heldFolder = folder;
        RunPreparation.PrepareAsync(spec.Job, spec.ResolvedJson, spec.Resume, heldFolder, journal, spec.ExpectedDevices, spec.Datasets,
                line => listener.Tell(new NodeLog(line)))
            .PipeTo(Self, success: run => new Prepared(run, journal), failure: e => new PreparationFailed(e is AggregateException { InnerException: { } inner } ? inner.Message : e.Message));
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IReachabilityEvent));
    }

    protected override void PostStop()
    {
        Cluster.Get(Context.System).Unsubscribe(Self);
        folder?.Dispose();
    }

    private void Preparing()
    {
        Receive<Prepared>(m =>
        {
            coordinator = Context.Watch(Context.ActorOf(TrainingCoordinator.Props(m.Run.Settings, m.Run.Sampler, m.Run.Schedule, listener, m.Journal,
                EnvironmentCrashInjector.FromEnvironment()), ActorPaths.Coordinator));
            var cluster = Cluster.Get(Context.System);
            listener.Tell(new NodeLog($"coordinator of job {spec.Job.Name} runs on this node ({cluster.SelfAddress}): progress, checkpoints and TensorBoard come from here"));
            foreach (var member in cluster.State.Members)
            {
                Context.ActorSelection(new RootActorPath(member.Address) / "user" / ClusterNode.NodeEventsName).Tell(new JobStarted(spec.Job.Name, cluster.SelfAddress.ToString()));
            }
            Stash.UnstashAll();
            Become(Leading);
        });
        Receive<PreparationFailed>(m => FailToStart(m.Reason));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Leading()
    {
        Receive<ClusterEvent.UnreachableMember>(m => coordinator!.Tell(new NodeReachability(m.Member.Address.ToString(), Reachable: false)));
        Receive<ClusterEvent.ReachableMember>(m => coordinator!.Tell(new NodeReachability(m.Member.Address.ToString(), Reachable: true)));
        Receive<Terminated>(m => log.Info("job {0}: the coordinator stopped", spec.Job.Name));
        ReceiveAny(m => coordinator!.Forward(m));
    }

    // The run cannot start (the folder is another job's, the journal is damaged, nothing to resume):
    // every node is told, so that no process waits for a coordinator that will never come.
    private void FailToStart(string reason)
    {
        log.Error("job {0} cannot start: {1}", spec.Job.Name, reason);
        var failed = new TrainingFailed(-1, $"cannot start: {reason}");
        listener.Tell(failed);
        foreach (var member in Cluster.Get(Context.System).State.Members)
        {
            Context.ActorSelection(new RootActorPath(member.Address) / "user" / ActorPaths.NodeAgent).Tell(new JobEnded(false, -1, failed.Reason));
        }
        Become(() => ReceiveAny(_ => { }));
    }

    private sealed record Prepared(RunPreparation.PreparedRun Run, IActorRef Journal);

    private sealed record PreparationFailed(string Reason);
}

/// <summary>Sent by the job leader to every node when the coordinator has started: where it runs.</summary>
public sealed record JobStarted(string Job, string CoordinatorNode) : GppfActors.Actors.Messages.IGppfMessage;

/// <summary>A line for the node's own output (preparation messages, membership changes).</summary>
public sealed record NodeLog(string Line);
