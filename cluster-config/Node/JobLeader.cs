using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Node;
using GppfActors.Actors.Sampling;
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
public sealed class JobLeader : ReceiveActor, IWithStash, IWithTimers
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

    public ITimerScheduler Timers { get; set; } = null!;

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
        var cluster = Cluster.Get(Context.System);
        cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.MemberUp),
            typeof(ClusterEvent.MemberDowned));
        if (spec.CoordinatorSeen() is { } previous && previous != cluster.SelfAddress.ToString())
        {
            // The singleton moved here because the coordinator's node was lost mid-run.
            TakeOver(previous);
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
        var journal = StartJournal();
        Prepare(journal, spec.Resume, spec.ExpectedDevices, takeover: null);
    }

    private IActorRef StartJournal() =>
        Context.ActorOf(CheckpointJournal.SupervisedProps(store.PersistenceId(spec.Job, folder!), JobObjects.Retention(spec.Job),
            EnvironmentCrashInjector.FromEnvironment()), ActorPaths.CheckpointJournalSupervisor);

    private void Prepare(IActorRef journal, ResumeOptions resume, int expectedDevices, Func<RunPreparation.PreparedRun, Prepared>? takeover)
    {
        RunPreparation.PrepareAsync(spec.Job, spec.ResolvedJson, resume, folder!, journal, expectedDevices, spec.Datasets,
                line => listener.Tell(new NodeLog(line)))
            .PipeTo(Self, success: run => takeover?.Invoke(run) ?? new Prepared(run, journal, null),
                failure: e => new PreparationFailed(e is AggregateException { InnerException: { } inner } ? inner.Message : e.Message));
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
            if (m.Fence is null)
            {
                StartCoordinator(m);
                return;
            }
            // Journaled before the first command: from now on the superseded coordinator cannot
            // commit, and a coordinator that took over later than this one would refuse this one.
            FenceAsync(m).PipeTo(Self, failure: e => new PreparationFailed((e is AggregateException { InnerException: { } inner } ? inner : e).Message));
        });
        Receive<Fenced>(m => StartCoordinator(m.Run));
        Receive<PreparationFailed>(m => FailToStart(m.Reason));
        Receive<ClusterEvent.MemberUp>(_ => { });
        ReceiveAny(_ => Stash.Stash());
    }

    private static async Task<Fenced> FenceAsync(Prepared m)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await m.Journal.Ask<object>(m.Fence!, JournalAnswer) switch
                {
                    CoordinatorTookOver => new Fenced(m),
                    TakeoverRefused refused => throw new InvalidOperationException($"this node may not take over: {refused.Reason}"),
                    var other => throw new InvalidOperationException($"unexpected answer {other.GetType().Name} to the takeover"),
                };
            }
            catch (AskTimeoutException) when (attempt < 3)
            {
                // The journal restarts after a failed write (another coordinator wrote concurrently); ask again.
            }
        }
    }

    private void StartCoordinator(Prepared m)
    {
        coordinator = Context.Watch(Context.ActorOf(TrainingCoordinator.Props(m.Run.Settings, m.Run.Sampler, m.Run.Schedule, listener, m.Journal,
            EnvironmentCrashInjector.FromEnvironment(), m.Takeover), ActorPaths.Coordinator));
        var cluster = Cluster.Get(Context.System);
        if (m.Takeover is null)
        {
            listener.Tell(new NodeLog($"coordinator of job {spec.Job.Name} runs on this node ({cluster.SelfAddress}): progress, checkpoints and TensorBoard come from here"));
        }
        foreach (var member in cluster.State.Members)
        {
            AnnounceTo(member.Address);
        }
        Stash.UnstashAll();
        Become(Leading);
    }

    private void AnnounceTo(Address node) =>
        Context.ActorSelection(new RootActorPath(node) / "user" / ClusterNode.NodeEventsName).Tell(new JobStarted(spec.Job.Name, Cluster.Get(Context.System).SelfAddress.ToString()));

    // ---- taking over from a lost coordinator ----

    // The previous coordinator's node was lost. Every surviving node agent is asked for its
    // devices' state (each aborts its process's collectives first, so no device stays blocked on
    // the lost peers); meanwhile the run folder is taken (the old process's lock goes with it).
    // Then the job continues from the most advanced surviving replica and the coordinator snapshot
    // it carries, or from the newest committed checkpoint when no survivor holds the state.
    private void TakeOver(string previous)
    {
        var cluster = Cluster.Get(Context.System);
        var started = System.Diagnostics.Stopwatch.StartNew();
        listener.Tell(new NodeLog($"the coordinator of job {spec.Job.Name} on {previous} was lost; taking over on this node ({cluster.SelfAddress})"));
        var pendingNodes = cluster.State.Members
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp && !cluster.State.Unreachable.Contains(m))
            .Select(m => m.Address.ToString()).ToHashSet();
        var reports = new List<(IActorRef Device, DeviceReport Report)>();
        int expectedReports = 0;
        bool folderReady = false;
        bool closed = false;
        var request = new ReportForTakeover($"the coordinator on {previous} was lost");
        foreach (var node in pendingNodes)
        {
            Context.ActorSelection(ActorPath.Parse(node) / "user" / ActorPaths.NodeAgent).Tell(request);
        }
        var identity = JobObjects.Identity(spec.Job);
        var dir = spec.Job.Checkpoint.Dir;
        Task.Run(() => RunFolder.Open(dir, identity, TakeoverLockWait, withoutLockAfterWait: true)).PipeTo(Self, success: f => new FolderOpened(f),
            failure: e => new PreparationFailed((e is AggregateException { InnerException: { } inner } ? inner : e).Message));
        Timers.StartSingleTimer("collect", CollectDeadline.Instance, TimeSpan.FromSeconds(spec.Job.Collectives.TimeoutSeconds + 10));

        void TryDecide()
        {
            if (!folderReady || !(closed || (pendingNodes.Count == 0 && reports.Count >= expectedReports)))
            {
                return;
            }
            Timers.Cancel("collect");
            Decide(previous, reports, started);
        }

        Become(() =>
        {
            Receive<NodeReport>(m =>
            {
                if (pendingNodes.Remove(m.Node))
                {
                    expectedReports += m.Devices;
                }
                TryDecide();
            });
            Receive<DeviceReport>(m =>
            {
                reports.RemoveAll(r => r.Device.Equals(Sender));
                reports.Add((Sender, m));
                TryDecide();
            });
            Receive<FolderOpened>(m =>
            {
                folder = m.Folder;
                if (!folder.HoldsLock)
                {
                    listener.Tell(new NodeLog($"WARNING: {spec.Job.Checkpoint.Dir} is still locked after {TakeoverLockWait.TotalSeconds:0} s, presumably by the lost coordinator's " +
                        "process (frozen or cut off); continuing without the lock: the cluster has removed that node, and the journal refuses its commits"));
                }
                try
                {
                    store = JournalStore.For(spec.Job);
                    store.Verify();
                }
                catch (Exception e) when (e is IOException or ArgumentException)
                {
                    FailToStart(e.Message);
                    return;
                }
                folderReady = true;
                TryDecide();
            });
            Receive<CollectDeadline>(_ =>
            {
                if (pendingNodes.Count > 0 || reports.Count < expectedReports)
                {
                    log.Warning("job {0}: taking over without {1} node(s) and {2} device(s) that did not report in time", spec.Job.Name, pendingNodes.Count,
                        Math.Max(0, expectedReports - reports.Count));
                }
                closed = true;
                TryDecide();
            });
            Receive<PreparationFailed>(m => FailToStart(m.Reason));
            Receive<ClusterEvent.MemberUp>(_ => { });
            ReceiveAny(_ => Stash.Stash());
        });
    }

    private void Decide(string previous, List<(IActorRef Device, DeviceReport Report)> reports, System.Diagnostics.Stopwatch started)
    {
        var journal = StartJournal();
        var self = Cluster.Get(Context.System).SelfAddress.ToString();
        var sampler = JobObjects.Sampler(spec.Job, spec.Datasets);
        var decision = Takeover.Resolve(reports, sampler);
        var devices = reports.ToList();
        var job = spec.Job;
        Become(Preparing);
        if (decision is Takeover.Decision<IActorRef>.Continue { Plan: var plan })
        {
            ContinueFromDevices(journal, plan, sampler, devices, self, previous, started).PipeTo(Self,
                failure: e => new PreparationFailed((e is AggregateException { InnerException: { } inner } ? inner : e).Message));
            return;
        }
        var fallBack = (Takeover.Decision<IActorRef>.FallBack)decision;
        ContinueFromCheckpoint(journal, fallBack, devices, self).PipeTo(Self,
            failure: e => new PreparationFailed((e is AggregateException { InnerException: { } inner } ? inner : e).Message));
    }

    // No survivor holds the run's state: the newest committed checkpoint, verified as a resume
    // verifies it (with nothing committed yet, the job cannot continue and says so).
    private async Task<Prepared> ContinueFromCheckpoint(IActorRef journal, Takeover.Decision<IActorRef>.FallBack fallBack,
        List<(IActorRef Device, DeviceReport Report)> devices, string self)
    {
        var latest = await journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, JournalAnswer);
        if (latest.Record is not { } record)
        {
            // The replicas may hold half-trained weights: starting over from step 0 with them would
            // not be the job's start. The whole job is started again instead.
            throw new InvalidOperationException($"{fallBack.Reason}, and no checkpoint is committed yet: start every node again to start the job over");
        }
        listener.Tell(new NodeLog($"{fallBack.Reason}: continuing from the newest committed checkpoint (step {record.Step})"));
        var run = await RunPreparation.PrepareAsync(spec.Job, spec.ResolvedJson, new ResumeOptions(true, spec.Resume.DiscardMissing), folder!, journal,
            Math.Max(1, devices.Count), spec.Datasets, line => listener.Tell(new NodeLog(line)));
        long epoch = Math.Max(Math.Max(run.Settings.StartEpoch, fallBack.EpochFloor), latest.TakeoverEpoch);
        var settings = run.Settings with { StartEpoch = epoch };
        var takeover = new TrainingCoordinator.TakeoverStart(devices, [], 0, 0, -1);
        return new Prepared(run with { Settings = settings }, journal, takeover, new RecordTakeover(epoch + 1, self, settings.StartStep));
    }

    private async Task<Prepared> ContinueFromDevices(IActorRef journal, Takeover.Plan<IActorRef> plan, TaskSamplerState sampler,
        List<(IActorRef Device, DeviceReport Report)> devices, string self, string previous, System.Diagnostics.Stopwatch started)
    {
        var latest = await journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, JournalAnswer);
        long floor = new[] { plan.EpochFloor, latest.TakeoverEpoch }.Concat(latest.Committed.Select(r => r.Epoch)).Max();
        var schedule = JobObjects.Schedule(spec.Job);
        schedule.LoadJson(plan.Schedule);
        var settings = JobObjects.Coordinator(spec.Job, devices.Count, plan.Step, floor, spec.ResolvedJson);
        var takeover = new TrainingCoordinator.TakeoverStart(devices, plan.Current, plan.NonFiniteTotal, plan.NonFiniteConsecutive, plan.LastCommittedStep);
        listener.Tell(new NodeLog($"continuing at step {plan.Step} from the state of {plan.Current.Count} of {devices.Count} surviving device(s) " +
            $"(steps lost: {plan.StepsLost}; collected in {started.Elapsed.TotalSeconds:0.0} s, no checkpoint read)"));
        return new Prepared(new RunPreparation.PreparedRun(sampler, schedule, settings), journal, takeover, new RecordTakeover(floor + 1, self, plan.Step));
    }

    private void Leading()
    {
        // A node that joins later learns where the coordinator runs (it may have to take over one day).
        Receive<ClusterEvent.MemberUp>(m => AnnounceTo(m.Member.Address));
        // A device that reported after the takeover's collection closed joins as a newcomer.
        Receive<DeviceReport>(m => coordinator!.Tell(new DeviceStarted(m.Device, m.ProcessId, m.Endpoint), Sender));
        Receive<NodeReport>(_ => { });
        Receive<ClusterEvent.UnreachableMember>(m => coordinator!.Tell(new NodeReachability(m.Member.Address.ToString(), Reachable: false)));
        Receive<ClusterEvent.ReachableMember>(m => coordinator!.Tell(new NodeReachability(m.Member.Address.ToString(), Reachable: true)));
        Receive<ClusterEvent.MemberDowned>(m =>
        {
            // This node itself downed (the minority side of a partition): it stops anyway, and the
            // majority's coordinator decides about its devices.
            if (!m.Member.Address.Equals(Cluster.Get(Context.System).SelfAddress))
            {
                coordinator!.Tell(new NodeDowned(m.Member.Address.ToString()));
            }
        });
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

    private sealed record Prepared(RunPreparation.PreparedRun Run, IActorRef Journal, TrainingCoordinator.TakeoverStart? Takeover, RecordTakeover? Fence = null);

    private sealed record PreparationFailed(string Reason);

    private sealed record FolderOpened(RunFolder Folder);

    private sealed record Fenced(Prepared Run);

    private sealed record CollectDeadline
    {
        public static CollectDeadline Instance { get; } = new();
    }

    /// <summary>
    /// How long a coordinator taking over waits for the lost coordinator's process to release the
    /// run folder (a killed or self-downed process releases it at once); after that it goes on without.
    /// </summary>
    public static readonly TimeSpan TakeoverLockWait = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan JournalAnswer = TimeSpan.FromSeconds(30);
}

/// <summary>Sent by the job leader to every node when the coordinator has started: where it runs.</summary>
public sealed record JobStarted(string Job, string CoordinatorNode) : GppfActors.Actors.Messages.IGppfMessage;

/// <summary>A line for the node's own output (preparation messages, membership changes).</summary>
public sealed record NodeLog(string Line);
