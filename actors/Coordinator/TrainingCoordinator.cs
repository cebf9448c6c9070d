using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Logging;
using GppfActors.Actors.Node;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;

namespace GppfActors.Actors.Coordinator;

/// <summary>
/// Runs the job: forms the collective group of each membership epoch, aligns replicas, drives the
/// step loop (one round trip per step, every message carrying the epoch), evaluates, checkpoints,
/// and recovers from device failures. Parent of the task sampler and the schedule manager; one per
/// job. It routes: membership, checkpoint capture, the step round, evaluation, retries and the
/// non-finite guard are pure types it asks; every wait has a deadline checked on a periodic tick.
/// </summary>
public sealed class TrainingCoordinator : ReceiveActor, IWithTimers
{
    private readonly CoordinatorSettings settings;
    private readonly IActorRef? listener;
    private readonly IActorRef sampler;
    private readonly IActorRef schedule;
    private readonly IReadOnlyList<string> taskNames;
    private readonly IActorRef? journal;
    private readonly ICrashInjector crashes;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Stopwatch stepClock = new();

    private readonly Membership<IActorRef> membership;
    private readonly CheckpointCapture capture;
    private readonly StepRetries stepRetries;
    private readonly StepRetries alignRetries;
    private readonly NonFiniteGuard nonFinite;

    // The members whose answer (joined, restored, aligned) is awaited, and whether the resumed
    // checkpoint still has to be loaded into the first alignment's root.
    private readonly HashSet<IActorRef> awaiting = [];
    private bool restorePending;

    // Every node agent that ever had a device here: each is told when the job ends.
    private readonly HashSet<ActorPath> agents = [];
    private double awaitingDeadline;

    // The step loop.
    private long step;
    private StepRound? round;
    private StepDrawn? drawn;
    private ScheduleAt? scheduled;
    private EvaluationRound? evaluation;
    private EvaluationRound? finalEvaluation;
    private bool finishing;
    private bool verifying;
    private readonly Dictionary<string, string> digests = [];
    private string? finalCheckpointFailure;
    private string? childFailure;

    // Set when this coordinator takes over a running job: the surviving devices, registered at start.
    private readonly TakeoverStart? takeover;

    public TrainingCoordinator(CoordinatorSettings settings, TaskSamplerState samplerState, ScheduleState scheduleState, IActorRef? listener,
        IActorRef? journal = null, ICrashInjector? crashes = null, TakeoverStart? takeover = null)
    {
        this.takeover = takeover;
        this.settings = settings.Validate();
        this.listener = listener;
        this.journal = settings.Checkpoints ? journal ?? throw new ArgumentException("checkpoints need a journal", nameof(journal)) : null;
        this.crashes = crashes ?? NoCrashInjector.Instance;
        taskNames = samplerState.Tasks.Select(t => t.Name).ToArray();
        step = settings.StartStep;
        membership = new Membership<IActorRef>(settings.StartEpoch);
        capture = new CheckpointCapture(settings.CheckpointWriteTimeoutSeconds, settings.CommitTimeoutSeconds, settings.CommitAttempts);
        stepRetries = new StepRetries(settings.StepRetries);
        alignRetries = new StepRetries(settings.StepRetries);
        nonFinite = new NonFiniteGuard(settings.MaxNonFiniteSteps);
        if (takeover is not null)
        {
            nonFinite.Restore(takeover.NonFiniteTotal, takeover.NonFiniteConsecutive);
            if (takeover.LastCommittedStep >= 0)
            {
                capture.Committed(takeover.LastCommittedStep);
            }
        }
        restorePending = settings.ResumeFrom is not null;
        sampler = Context.Watch(Context.ActorOf(TaskSamplerActor.Props(samplerState), ActorPaths.TaskSampler));
        schedule = Context.Watch(Context.ActorOf(ScheduleManager.Props(scheduleState), ActorPaths.ScheduleManager));
        WaitingForDevices();
    }

    public static Props Props(CoordinatorSettings settings, TaskSamplerState samplerState, ScheduleState scheduleState, IActorRef? listener,
        IActorRef? journal = null, ICrashInjector? crashes = null, TakeoverStart? takeover = null) =>
        Akka.Actor.Props.Create(() => new TrainingCoordinator(settings, samplerState, scheduleState, listener, journal, crashes, takeover));

    /// <summary>
    /// A coordinator that takes over a running job starts with the surviving devices (each with its
    /// report; <paramref name="Current"/> hold the state of the start step, the others are aligned from
    /// them), the non-finite counters and the last committed step of the snapshot it continues from.
    /// </summary>
    public sealed record TakeoverStart(
        IReadOnlyList<(IActorRef Device, DeviceReport Report)> Devices,
        IReadOnlyCollection<IActorRef> Current,
        long NonFiniteTotal,
        int NonFiniteConsecutive,
        long LastCommittedStep);

    /// <summary>
    /// Policy: the sampler and the schedule manager hold pure state that a restart would lose, and
    /// they only fail on programming errors or on state that does not fit the job; such a failure
    /// stops the child and the job ends with its cause, rather than continuing with a sampler or
    /// schedule that differs from the checkpointed one.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(0, TimeSpan.Zero, e =>
    {
        childFailure = e.Message;
        return Directive.Stop;
    });

    public ITimerScheduler Timers { get; set; } = null!;

    private double Now => clock.Elapsed.TotalSeconds;

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromSeconds(settings.TickSeconds));
        if (takeover is null)
        {
            return;
        }
        foreach (var (device, report) in takeover.Devices)
        {
            Register(device, new DeviceStarted(report.Device, report.ProcessId, report.Endpoint));
            if (takeover.Current.Contains(device))
            {
                membership.MarkCurrent(device);
            }
        }
        if (membership.LiveCount >= settings.ExpectedDevices)
        {
            FormGroup($"the coordinator took over with {membership.LiveCount} surviving device(s)", stepDiscarded: false);
        }
    }

    protected override void PostStop() => AbortEpoch("coordinator stopped");

    // A bug in a handler: the run is reported failed with the cause before the actor stops (the
    // node runs top-level actors under a stopping strategy), never restarted into a fresh
    // coordinator that waits for devices that will not announce themselves again.
    protected override bool AroundReceive(Receive receive, object message)
    {
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception e)
        {
            listener?.Tell(new TrainingFailed(step, $"the coordinator failed on {message.GetType().Name}: {e.Message}"));
            throw;
        }
    }

    private void WaitingForDevices()
    {
        Become(() =>
        {
            CheckpointHandlers();
            ClusterHandlers();
            Receive<DeviceStarted>(m =>
            {
                Register(Sender, m);
                if (membership.LiveCount >= settings.ExpectedDevices)
                {
                    FormGroup($"{membership.LiveCount} device(s) started", stepDiscarded: false);
                }
            });
            Receive<DeviceFailedToStart>(m => Fail($"{m.Device} could not start: {m.Reason}"));
            Receive<Terminated>(m =>
            {
                if (!ChildStopped(m.ActorRef))
                {
                    membership.Lose(m.ActorRef);
                }
            });
            Receive<Tick>(_ =>
            {
                CheckCaptureDeadline();
                if (Now >= settings.StartTimeoutSeconds)
                {
                    Fail($"only {membership.LiveCount} of {settings.ExpectedDevices} device(s) started within {settings.StartTimeoutSeconds:0.#} s (train.start_timeout_seconds)");
                }
            });
        });
    }

    // A new epoch: abort the old group (unblocking anyone still in it), assign ranks, hand out the group.
    private void FormGroup(string reason, bool stepDiscarded)
    {
        if (membership.HasSuspended)
        {
            // A node is unreachable: whether it comes back or is downed decides who trains next.
            AbortEpoch($"epoch {membership.Epoch}: {reason}");
            log.Warning("waiting for unreachable node(s) to come back or be removed before forming the next epoch ({0})", reason);
            Become(WaitingForReachability);
            return;
        }
        if (membership.LiveCount == 0)
        {
            Fail($"no device is left ({reason})");
            return;
        }
        long previous = membership.Epoch;
        AbortEpoch($"epoch {previous} superseded: {reason}");
        long epoch = membership.FormEpoch();
        var ranks = membership.Ranks;
        var spec = membership.GroupSpec(settings.CollectiveTimeoutSeconds);
        log.Info("epoch {0}: {1} device(s) [{2}] ({3})", epoch, ranks.Count, membership.Describe(), reason);
        listener?.Tell(new MembershipChanged(epoch, ranks.Count, reason, stepDiscarded));
        if (settings.GroupIdFromRankZero)
        {
            // NCCL: the communicator's id is made in rank 0's process, then every rank joins with it.
            Await([ranks[0]]);
            ranks[0].Tell(new MakeGroupId(epoch));
            Become(() => MakingGroupId(spec));
            return;
        }
        SendJoins(spec);
    }

    private void SendJoins(GppfActors.Collectives.GroupSpec spec)
    {
        var ranks = membership.Ranks;
        Await(ranks);
        for (int r = 0; r < ranks.Count; r++)
        {
            ranks[r].Tell(new JoinGroup(spec.Epoch, r, spec));
        }
        Become(Joining);
    }

    private void MakingGroupId(GppfActors.Collectives.GroupSpec spec)
    {
        CheckpointHandlers();
        Receive<GroupIdMade>(m =>
        {
            if (m.Epoch == membership.Epoch && awaiting.Remove(Sender) && awaiting.Count == 0)
            {
                SendJoins(spec with { NcclUniqueId = m.Id });
            }
        });
        Receive<StepFailed>(m =>
        {
            if (m.Epoch == membership.Epoch)
            {
                AlignmentFailed($"rank 0 could not make the group's id: {m.Reason}");
            }
        });
        Receive<Tick>(_ => AwaitingTick("making the group's id"));
        MembershipHandlers();
    }

    // Wakes every member of the current epoch's group: each node agent aborts its process's part,
    // which also closes the group's sockets, so members elsewhere wake too.
    private void AbortEpoch(string reason)
    {
        foreach (var agent in membership.Ranks.Select(d => d.Path.Parent).Distinct())
        {
            Context.ActorSelection(agent).Tell(new AbortGroup(membership.Epoch, reason));
        }
    }

    // Between a node becoming unreachable and it being removed (downed) or reachable again: no epoch
    // is formed, so the side of a partition that the split-brain resolver is about to down does not
    // train on alone.
    private void WaitingForReachability()
    {
        CheckpointHandlers();
        Receive<NodeReachability>(m =>
        {
            ApplyReachability(m);
            FormGroupOnceSettled($"node {m.Node} reachable again");
        });
        Receive<DeviceStarted>(m =>
        {
            Register(Sender, m);
            FormGroupOnceSettled($"{m.Device} started");
        });
        Receive<DeviceFailedToStart>(m => log.Warning("{0} could not start again and leaves the job: {1}", m.Device, m.Reason));
        Receive<NodeDowned>(m =>
        {
            var devices = DownedDevices(m);
            foreach (var device in devices)
            {
                LoseQuietly(device);
            }
            if (devices.Count > 0)
            {
                FormGroupOnceSettled($"node {m.Node} was downed");
            }
        });
        Receive<Terminated>(m =>
        {
            // A device already lost (its node was downed before it was removed) is not lost twice.
            if (!ChildStopped(m.ActorRef) && membership.IsLive(m.ActorRef))
            {
                LoseQuietly(m.ActorRef);
                FormGroupOnceSettled($"{m.ActorRef.Path.Name} on {m.ActorRef.Path.Address} removed");
            }
        });
        Receive<Tick>(_ => CheckCaptureDeadline());
        ReceiveAny(m => log.Debug("waiting for reachability: ignoring {0}", m.GetType().Name));
    }

    private void FormGroupOnceSettled(string reason)
    {
        if (!membership.HasSuspended)
        {
            FormGroup(reason, stepDiscarded: false);
        }
    }

    // A node's devices are suspended while it is unreachable (abort the epoch's collectives at once,
    // so nobody waits for it) and resumed when it is reachable again; Terminated, when the cluster
    // removes it, loses them for good.
    private void ClusterHandlers()
    {
        Receive<NodeDowned>(LoseDownedNode);
        Receive<NodeReachability>(m =>
        {
            var ranks = ApplyReachability(m);
            if (m.Reachable || ranks.Count == 0)
            {
                return;
            }
            AbortEpoch($"node {m.Node} is unreachable");
            if (round is not null)
            {
                foreach (int rank in ranks)
                {
                    round.Lose(rank);
                }
                CheckRound();
                return;
            }
            if (evaluation is not null)
            {
                foreach (int rank in ranks)
                {
                    evaluation.DeviceLost(membership.Ranks[rank], $"node {m.Node} is unreachable");
                }
                CheckEvaluation();
                return;
            }
            if (!finishing)
            {
                FormGroup($"node {m.Node} is unreachable", stepDiscarded: false);
            }
        });
    }

    // A downed node's devices are gone for good. The cluster removes the node only once every
    // survivor has seen the Down by gossip (a round or more, longer in larger clusters); the remote
    // watch's Terminated comes then, and is a loss already counted. Usually the node was unreachable
    // first and the coordinator waits for this (WaitingForReachability forms the next epoch at once);
    // in any other state each device is lost as if its Terminated had come.
    private void LoseDownedNode(NodeDowned m)
    {
        foreach (var device in DownedDevices(m))
        {
            Self.Tell(new Terminated(device, existenceConfirmed: true, addressTerminated: true));
        }
    }

    private List<IActorRef> DownedDevices(NodeDowned m)
    {
        var devices = membership.Live.Where(d => d.Path.Address.ToString() == m.Node).ToList();
        if (devices.Count > 0)
        {
            log.Warning("node {0} was downed; its {1} device(s) leave the job now", m.Node, devices.Count);
            listener?.Tell(new NodeStatusChanged(m.Node, $"downed; its {devices.Count} device(s) leave the job"));
        }
        return devices;
    }

    // Suspends or resumes the node's devices; returns the ranks (in the current epoch) suspended now.
    private List<int> ApplyReachability(NodeReachability m)
    {
        var devices = membership.Live.Where(d => d.Path.Address.ToString() == m.Node).ToList();
        var ranks = new List<int>();
        foreach (var device in devices)
        {
            if (m.Reachable)
            {
                membership.Resume(device);
            }
            else if (membership.Suspend(device) is var rank and >= 0)
            {
                ranks.Add(rank);
            }
        }
        if (devices.Count > 0)
        {
            string status = m.Reachable
                ? $"reachable again; its {devices.Count} device(s) rejoin at the next step boundary"
                : $"unreachable; its {devices.Count} device(s) are suspended until it comes back or is removed";
            log.Warning("node {0} {1}", m.Node, status);
            listener?.Tell(new NodeStatusChanged(m.Node, status));
        }
        return ranks;
    }

    private void Joining()
    {
        CheckpointHandlers();
        Receive<GroupJoined>(m =>
        {
            if (m.Epoch == membership.Epoch && awaiting.Remove(Sender) && awaiting.Count == 0)
            {
                Align();
            }
        });
        Receive<StepFailed>(m =>
        {
            if (m.Epoch == membership.Epoch)
            {
                AlignmentFailed($"joining the group failed on rank {m.Rank}: {m.Reason}");
            }
        });
        Receive<Tick>(_ => AwaitingTick("joining the group"));
        MembershipHandlers();
    }

    private void Align()
    {
        if (membership.AlignmentRoot(anyStepRan: step > settings.StartStep) is not { } root)
        {
            Fail($"every device lost its state at step {step}; restart from the last checkpoint with --resume");
            return;
        }
        var rootDevice = membership.Ranks[root];
        if (restorePending && settings.ResumeFrom is { } record && membership.IsStale(rootDevice))
        {
            // Resuming: the root loads the checkpoint (from storage every node reads) and the
            // alignment that follows hands its state to everyone.
            Await([rootDevice]);
            rootDevice.Tell(new RestoreCheckpoint(membership.Epoch, record));
            Become(() => Restoring(root));
            return;
        }
        Await(membership.Ranks);
        foreach (var device in membership.Ranks)
        {
            device.Tell(new AlignReplicas(membership.Epoch, root, step));
        }
        Become(Aligning);
    }

    private void Restoring(int root)
    {
        CheckpointHandlers();
        Receive<CheckpointRestored>(m =>
        {
            if (m.Epoch == membership.Epoch && awaiting.Remove(Sender) && awaiting.Count == 0)
            {
                restorePending = false;
                Await(membership.Ranks);
                foreach (var device in membership.Ranks)
                {
                    device.Tell(new AlignReplicas(membership.Epoch, root, step));
                }
                Become(Aligning);
            }
        });
        Receive<RestoreFailed>(m =>
        {
            if (m.Epoch == membership.Epoch)
            {
                Fail($"the resumed checkpoint could not be loaded on rank {m.Rank}: {m.Reason}");
            }
        });
        Receive<Tick>(_ => AwaitingTick("loading the resumed checkpoint"));
        MembershipHandlers();
    }

    private void AlignmentFailed(string reason)
    {
        if (!alignRetries.Discarded(step))
        {
            Fail($"forming the group failed {alignRetries.Attempts} times in a row (train.step_retries = {settings.StepRetries}); last: {reason}");
            return;
        }
        FormGroup(reason, stepDiscarded: false);
    }

    private void Aligning()
    {
        CheckpointHandlers();
        Receive<ReplicasAligned>(m =>
        {
            if (m.Epoch == membership.Epoch && awaiting.Remove(Sender) && awaiting.Count == 0)
            {
                membership.Aligned();
                BeginStep();
            }
        });
        Receive<StepFailed>(m =>
        {
            if (m.Epoch == membership.Epoch)
            {
                AlignmentFailed($"aligning replicas failed on rank {m.Rank}: {m.Reason}");
            }
        });
        Receive<Tick>(_ => AwaitingTick("aligning replicas"));
        MembershipHandlers();
    }

    private void BeginStep()
    {
        if (membership.Changed)
        {
            FormGroup(membership.ChangesSinceEpoch, stepDiscarded: false);
            return;
        }
        if (step >= settings.MaxSteps)
        {
            Finish();
            return;
        }
        drawn = null;
        scheduled = null;
        round = null;
        if (settings.Checkpoints && settings.CheckpointEverySteps > 0 && step > settings.StartStep && step % settings.CheckpointEverySteps == 0)
        {
            RequestCapture(step);
        }
        sampler.Tell(new DrawStep(step, membership.Ranks.Count));
        schedule.Tell(new GetSchedule(step));
        Become(Stepping);
    }

    private void Stepping()
    {
        CheckpointHandlers();
        ClusterHandlers();
        Receive<StepDrawn>(m =>
        {
            if (m.Step == step && m.Tasks.Count == membership.Ranks.Count)
            {
                drawn = m;
                TryDispatch();
            }
        });
        Receive<ScheduleAt>(m =>
        {
            if (m.Step == step)
            {
                scheduled = m;
                TryDispatch();
            }
        });
        Receive<StepCompleted>(m =>
        {
            if (m.Epoch == membership.Epoch && round is not null && m.Step == round.Step)
            {
                round.Complete(m);
                CheckRound();
            }
        });
        Receive<StepFailed>(m =>
        {
            if (m.Epoch == membership.Epoch && round is not null && m.Step == round.Step)
            {
                round.Fail(m);
                CheckRound();
            }
        });
        Receive<DeviceStarted>(m => LoseAndRegister(Sender, m));
        Receive<DeviceFailedToStart>(m => log.Warning("{0} could not start again and leaves the job: {1}", m.Device, m.Reason));
        Receive<Terminated>(m =>
        {
            if (!ChildStopped(m.ActorRef))
            {
                LoseInStep(m.ActorRef, $"{m.ActorRef.Path.Name} stopped");
            }
        });
        Receive<Tick>(_ =>
        {
            CheckCaptureDeadline();
            if (round is null || Now < round.Deadline)
            {
                return;
            }
            // Silent past the deadline: stuck outside any collective (a collective would have timed
            // out). The step is given up; the silent devices leave the group and are restarted.
            var silent = round.Silent.ToList();
            foreach (int rank in silent)
            {
                round.Lose(rank);
                DropSilent(membership.Ranks[rank], $"no answer to step {round.Step} within train.step_timeout_seconds ({settings.StepTimeoutSeconds:0.#} s)");
            }
            AbortEpoch($"step {round.Step}: rank(s) {string.Join(", ", silent)} silent for {settings.StepTimeoutSeconds:0.#} s");
            CheckRound();
        });
    }

    private void TryDispatch()
    {
        if (drawn is null || scheduled is null || round is not null)
        {
            return;
        }
        SendWriteOrder();     // before RunStep, so rank 0 copies the state of this boundary
        var ranks = membership.Ranks;
        round = new StepRound(step, ranks.Count, Now, settings.StepTimeoutSeconds);
        var active = drawn.Tasks.Distinct().ToArray();
        // This coordinator's state as of this step travels with it: a coordinator that takes over
        // after this node is lost continues from it (one object shared by every message).
        var snapshot = new CoordinatorSnapshot(step, membership.Epoch, ranks.Count, drawn.StateBefore ?? "", scheduled.StateJson ?? "",
            capture.LastCommittedStep, nonFinite.Total, nonFinite.Consecutive);
        stepClock.Restart();
        NodeRunContext.For(Context.System).At(membership.Epoch, step);
        for (int r = 0; r < ranks.Count; r++)
        {
            var next = new NextStepHint(step + 1, drawn.NextTasks[r], drawn.NextIndices[r]);
            ranks[r].Tell(new RunStep(membership.Epoch, step, drawn.Tasks[r], drawn.Indices[r], active, scheduled.LearningRate, scheduled.Tau, next, snapshot));
        }
    }

    private void CheckRound()
    {
        if (round is null || !round.AllAnswered)
        {
            return;
        }
        var finished = round;
        round = null;
        if (finished.AllCompleted)
        {
            if (!Account(finished))
            {
                return;
            }
            step++;
            if (settings.EvalEverySteps > 0 && step % settings.EvalEverySteps == 0 && step < settings.MaxSteps)
            {
                StartEvaluation();
                return;
            }
            BeginStep();
            return;
        }

        string failedRanks = string.Join(", ", finished.FailedRanks);
        if (finished.DataFailed)
        {
            Fail($"step {finished.Step}: the data could not be loaded: {finished.FailureSummary()}. Fix or remove the sample, or set data.skip_bad_samples=true");
            return;
        }
        // The last collective of a step releases every member together, so if anyone completed,
        // every survivor applied (or, non-finite, skipped) the update: the step counts. Otherwise
        // no one applied it: it is discarded and drawn again identically.
        if (finished.Applied)
        {
            if (!Account(finished))
            {
                return;
            }
            step++;
            FormGroup($"step {finished.Step} completed, but rank(s) {failedRanks} failed", stepDiscarded: false);
            return;
        }
        if (!stepRetries.Discarded(finished.Step))
        {
            Fail($"step {finished.Step} failed {stepRetries.Attempts} times in a row (train.step_retries = {settings.StepRetries}); last: {finished.FailureSummary()}");
            return;
        }
        sampler.Tell(new RewindTo(finished.Step));
        FormGroup($"step {finished.Step} failed on rank(s) {failedRanks}; discarded", stepDiscarded: true);
    }

    // Reports a finished step (applied or skipped as non-finite); false when the run had to stop.
    private bool Account(StepRound finished)
    {
        if (!finished.SkippedAsNonFinite)
        {
            nonFinite.Applied();
            Report(finished);
            return true;
        }
        var completed = finished.Completed.ToList();
        var tasks = completed.Where(c => !double.IsFinite(c.Loss)).Select(c => c.Task).Distinct().ToList();
        int ranksNonFinite = completed.Max(c => c.NonFiniteRanks);
        bool goOn = nonFinite.Skipped();
        log.Warning("step {0} skipped on every replica: {1} device(s) had non-finite loss or gradients{2} ({3} in a row, {4} in total)",
            finished.Step, ranksNonFinite, tasks.Count > 0 ? $" (tasks {string.Join(", ", tasks)})" : "", nonFinite.Consecutive, nonFinite.Total);
        listener?.Tell(new StepSkipped(finished.Step, membership.Epoch, ranksNonFinite, tasks, nonFinite.Total, nonFinite.Consecutive));
        if (!goOn)
        {
            Fail($"{nonFinite.Consecutive} steps in a row (train.max_nonfinite_steps) had non-finite loss or gradients, the last at step {finished.Step}" +
                 $"{(tasks.Count > 0 ? $" (tasks {string.Join(", ", tasks)})" : "")}; lower optimizer.lr or check the data. Nothing non-finite was applied or checkpointed");
            return false;
        }
        return true;
    }

    private void Report(StepRound finished)
    {
        var done = finished.Completed.ToList();
        var lossPerTask = done.GroupBy(c => c.Task).ToDictionary(g => g.Key, g => g.Average(c => c.Loss));
        var metricsPerTask = done.SelectMany(c => c.Metrics.Select(m => (Key: $"{c.Task}/{m.Key}", m.Value)))
            .GroupBy(x => x.Key).ToDictionary(g => g.Key, g => g.Average(x => x.Value));
        listener?.Tell(new TrainingProgress(finished.Step, membership.Epoch, finished.WorldSize, scheduled?.LearningRate ?? 0, scheduled?.Tau ?? 0,
            lossPerTask, metricsPerTask, done.Sum(c => c.Samples), done.GroupBy(c => c.Task).ToDictionary(g => g.Key, g => g.Sum(c => c.Samples)),
            stepClock.Elapsed.TotalSeconds,
            done.Count == 0 ? 0 : done.Max(c => c.Timings.Total), done.Count == 0 ? 0 : done.Max(c => c.Timings.Data),
            done.OrderBy(c => c.Rank).Select(DeviceStepOf).ToList(), UnitProbabilitiesPerTask(done)));
    }

    // The ranks are the current epoch's (a step is reported before the next epoch forms).
    private DeviceStep DeviceStepOf(StepCompleted completed)
    {
        var ranks = membership.Ranks;
        var id = completed.Rank < ranks.Count && membership.IsLive(ranks[completed.Rank]) ? membership.IdOf(ranks[completed.Rank]) : null;
        return new DeviceStep(id?.Local ?? $"rank {completed.Rank}", id?.Node ?? "", completed.Task, completed.Timings.Total);
    }

    // Every replica holds the same controllers after a step, so any device that ran a task reports its routing.
    private static IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<double>>> UnitProbabilitiesPerTask(IEnumerable<StepCompleted> done) =>
        done.Where(c => c.UnitProbabilities is not null).GroupBy(c => c.Task).ToDictionary(g => g.Key, g => g.First().UnitProbabilities!);

    // Evaluation runs every task on its held-out split, tasks spread over the devices; no collectives.
    private void StartEvaluation()
    {
        evaluation = new EvaluationRound(step, taskNames, membership.Ranks.Cast<object>().ToList(), Now, settings.EvalTimeoutSeconds);
        foreach (var (task, device) in evaluation.Assignments)
        {
            ((IActorRef)device).Tell(new EvaluateTask(step, task, settings.EvalBatches));
        }
        Become(Evaluating);
    }

    private void Evaluating()
    {
        CheckpointHandlers();
        ClusterHandlers();
        Receive<TaskEvaluated>(m =>
        {
            if (evaluation is not null && m.Step == evaluation.Step)
            {
                evaluation.Completed(m.Task, m.Metrics, m.UnitProbabilities);
                CheckEvaluation();
            }
        });
        Receive<EvaluationFailed>(m =>
        {
            if (evaluation is not null && m.Step == evaluation.Step)
            {
                evaluation.Failed(m.Task, m.Reason);
                CheckEvaluation();
            }
        });
        Receive<DeviceStarted>(m =>
        {
            evaluation?.DeviceLost(Sender, $"{m.Device} restarted during the evaluation");
            LoseAndRegister(Sender, m);
            CheckEvaluation();
        });
        Receive<DeviceFailedToStart>(m => log.Warning("{0} could not start again and leaves the job: {1}", m.Device, m.Reason));
        Receive<Terminated>(m =>
        {
            if (ChildStopped(m.ActorRef))
            {
                return;
            }
            evaluation?.DeviceLost(m.ActorRef, $"{m.ActorRef.Path.Name} stopped during the evaluation");
            LoseQuietly(m.ActorRef);
            CheckEvaluation();
        });
        Receive<Tick>(_ =>
        {
            CheckCaptureDeadline();
            foreach (var silent in evaluation?.Expire(Now) ?? [])
            {
                DropSilent((IActorRef)silent, $"no evaluation result within eval.timeout_seconds ({settings.EvalTimeoutSeconds:0.#} s)");
            }
            CheckEvaluation();
        });
    }

    private void CheckEvaluation()
    {
        if (evaluation is null || !evaluation.Done)
        {
            return;
        }
        var done = evaluation;
        evaluation = null;
        foreach (var (task, reason) in done.Failures)
        {
            log.Error("evaluation of {0} at step {1} failed: {2}", task, done.Step, reason);
        }
        listener?.Tell(new EvaluationReport(done.Step, done.Metrics, done.Routing, done.Failures));
        if (finishing)
        {
            finalEvaluation = done;
            TryFinish();
            return;
        }
        BeginStep();
    }

    private void Finish()
    {
        finishing = true;
        StartEvaluation();
        TryFinish();
    }

    // The job ends when the final evaluation is in and the final checkpoint is committed.
    private void TryFinish()
    {
        if (!finishing)
        {
            return;
        }
        if (settings.Checkpoints && capture.LastCommittedStep < step)
        {
            if (finalCheckpointFailure is { } reason)
            {
                Fail($"the final checkpoint of step {step} was not saved: {reason}; the newest committed checkpoint is step {Math.Max(capture.LastCommittedStep, settings.StartStep)}");
                return;
            }
            if (!capture.Busy)
            {
                RequestCapture(step);
            }
            return;
        }
        if (finalEvaluation is null || verifying)
        {
            return;
        }
        if (!settings.VerifyReplicas || membership.Ranks.Count == 0)
        {
            Finish(finalEvaluation);
            return;
        }
        // The invariant every recovery must keep: all replicas hold the same bits. Checked once more
        // at the end, by a digest of each replica's model and optimizer state.
        verifying = true;
        digests.Clear();
        Await(membership.Ranks);
        foreach (var device in membership.Ranks)
        {
            device.Tell(new ReportReplicaDigest(membership.Epoch));
        }
        Become(Verifying);
    }

    private void Verifying()
    {
        CheckpointHandlers();
        Receive<ReplicaDigest>(m =>
        {
            if (m.Epoch != membership.Epoch || !awaiting.Remove(Sender))
            {
                return;
            }
            digests[m.Device.ToString()] = m.Sha256;
            if (awaiting.Count == 0)
            {
                Verified();
            }
        });
        Receive<Terminated>(m =>
        {
            if (!ChildStopped(m.ActorRef) && awaiting.Remove(m.ActorRef) && awaiting.Count == 0)
            {
                Verified();
            }
        });
        Receive<Tick>(_ =>
        {
            CheckCaptureDeadline();
            if (Now >= awaitingDeadline && awaiting.Count > 0)
            {
                log.Warning("{0} replica(s) did not report a digest in time; verifying the others", awaiting.Count);
                awaiting.Clear();
                Verified();
            }
        });
        ReceiveAny(m => log.Debug("verifying: ignoring {0}", m.GetType().Name));
    }

    private void Verified()
    {
        var distinct = digests.Values.Distinct().ToList();
        if (distinct.Count > 1)
        {
            Fail("replicas diverged: " + string.Join("; ", digests.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value[..16]}")));
            return;
        }
        if (distinct.Count == 1)
        {
            listener?.Tell(new ReplicasVerified(step, digests.Count, distinct[0], digests.Keys.Order(StringComparer.Ordinal).ToList()));
        }
        Finish(finalEvaluation!);
    }

    private void Finish(EvaluationRound final)
    {
        listener?.Tell(new TrainingFinished(step, final.Metrics, final.Failures));
        TellAgents(new JobEnded(true, step, $"finished at step {step}"));
        Become(Finished);
    }

    private void TellAgents(object message)
    {
        foreach (var agent in agents)
        {
            Context.ActorSelection(agent).Tell(message);
        }
    }

    private void Finished()
    {
        Receive<DeviceStarted>(m => Register(Sender, m));
        Receive<Terminated>(m => membership.Lose(m.ActorRef));
        Receive<Tick>(_ => { });
        ReceiveAny(m => log.Debug("finished: ignoring {0}", m.GetType().Name));
    }

    // ---- checkpoints ----

    private void RequestCapture(long atStep)
    {
        if (capture.Phase == CapturePhase.AwaitingState && capture.Step == atStep)
        {
            return;   // asked again for the same boundary (the step was drawn again): the states are on their way or here
        }
        if (capture.Request(atStep) is { } refused)
        {
            listener?.Tell(new CheckpointNotSaved(atStep, refused));
            return;
        }
        sampler.Tell(new GetSamplerState(atStep));
        schedule.Tell(GetScheduleState.Instance);
    }

    // Sent once the sampler and schedule have answered: before the step's RunStep while stepping
    // (they answer before the step's draw and schedule, which were asked later), right away at the end.
    private void SendWriteOrder()
    {
        if (!capture.ReadyToWrite || membership.Ranks.Count == 0)
        {
            return;
        }
        var writer = membership.Ranks[0];
        var (atStep, samplerJson, scheduleJson) = capture.StartWriting(writer, Now);
        writer.Tell(new WriteCheckpoint(membership.Epoch, atStep, settings.CheckpointRoot!, samplerJson, scheduleJson, settings.ConfigJson));
    }

    private void CheckpointHandlers()
    {
        Receive<Rewound>(_ => { });
        Receive<SamplerState>(m =>
        {
            capture.SamplerState(m.Json);
            if (finishing)
            {
                SendWriteOrder();
            }
        });
        Receive<ScheduleStateJson>(m =>
        {
            capture.ScheduleState(m.Json);
            if (finishing)
            {
                SendWriteOrder();
            }
        });
        Receive<CheckpointWritten>(m =>
        {
            if (capture.Written(m.Record, Now))
            {
                journal!.Tell(new CommitCheckpoint(m.Record));
            }
            else
            {
                log.Info("checkpoint of step {0} written but not committed: no longer expected (it stays uncommitted and is removed at the next start)", m.Step);
            }
        });
        Receive<CheckpointWriteFailed>(m => CheckpointFailed(m.Step, $"writing failed: {m.Reason}"));
        Receive<CommitCheckpointFailed>(m => CheckpointFailed(m.Step, $"commit refused: {m.Reason}"));
        Receive<CheckpointCommitted>(m =>
        {
            crashes.Hit(CrashPoints.AfterJournal, m.Record.Step);
            bool wasNew = m.Record.Step > capture.LastCommittedStep;
            capture.Committed(m.Record.Step);
            if (wasNew)
            {
                listener?.Tell(new CheckpointSaved(m.Record));
            }
            TryFinish();
        });
    }

    private void CheckpointFailed(long failedStep, string reason)
    {
        if (!capture.Failed(failedStep))
        {
            return;
        }
        NotSaved(failedStep, reason);
    }

    private void NotSaved(long failedStep, string reason)
    {
        log.Warning("checkpoint of step {0} not saved: {1}", failedStep, reason);
        listener?.Tell(new CheckpointNotSaved(failedStep, reason));
        if (finishing && failedStep == step)
        {
            finalCheckpointFailure = reason;
        }
        TryFinish();
    }

    private void CheckCaptureDeadline()
    {
        switch (capture.Expired(Now))
        {
            case CaptureTimeout.RetryCommit retry:
                log.Warning("the journal did not acknowledge the commit of step {0}; sending it again (attempt {1})", retry.Record.Step, retry.Attempt);
                journal!.Tell(new CommitCheckpoint(retry.Record));
                break;
            case CaptureTimeout.GiveUp giveUp:
                NotSaved(giveUp.Step, giveUp.Reason);
                break;
        }
    }

    // ---- membership ----

    private void MembershipHandlers()
    {
        ClusterHandlers();
        Receive<DeviceStarted>(m => LoseAndRegister(Sender, m));
        Receive<DeviceFailedToStart>(m => log.Warning("{0} could not start again and leaves the job: {1}", m.Device, m.Reason));
        Receive<Terminated>(m =>
        {
            if (ChildStopped(m.ActorRef))
            {
                return;
            }
            bool wasMember = membership.RankOf(m.ActorRef) >= 0;
            LoseQuietly(m.ActorRef);
            if (wasMember)
            {
                FormGroup($"{m.ActorRef.Path.Name} stopped", stepDiscarded: false);
            }
        });
        Receive<StepFailed>(m => log.Debug("ignoring failure of epoch {0}", m.Epoch));
    }

    // A device (re)started. A member of the epoch that restarted lost its part of whatever was in
    // flight: the group is woken and re-formed; a newcomer is admitted at the next boundary.
    private void LoseAndRegister(IActorRef device, DeviceStarted started)
    {
        var id = started.Device;
        int rank = membership.RankOf(device);
        if (capture.WriterLost(device) is { } reason)
        {
            NotSaved(capture.Step, reason);
        }
        Register(device, started);
        if (rank < 0)
        {
            if (round is null && evaluation is null && !finishing)
            {
                FormGroup($"{id} started", stepDiscarded: false);
            }
            return;
        }
        AbortEpoch($"{id} (rank {rank}) restarted");
        if (round is not null)
        {
            round.Lose(rank);
            CheckRound();
        }
        else if (evaluation is null && !finishing)
        {
            FormGroup($"{id} restarted", stepDiscarded: false);
        }
    }

    private void LoseInStep(IActorRef device, string reason)
    {
        int rank = LoseQuietly(device);
        if (rank < 0)
        {
            return;
        }
        AbortEpoch($"rank {rank}: {reason}");
        if (round is null)
        {
            FormGroup(reason, stepDiscarded: false);
            return;
        }
        round.Lose(rank);
        CheckRound();
    }

    // The one routine for a device that is gone: membership, checkpoint writer, evaluation.
    private int LoseQuietly(IActorRef device)
    {
        if (capture.WriterLost(device) is { } reason)
        {
            NotSaved(capture.Step, reason);
        }
        return membership.Lose(device);
    }

    // A device that did not answer in time is dropped and killed: when it comes back from whatever
    // it is stuck in, its supervisor restarts it and it rejoins as a fresh device.
    private void DropSilent(IActorRef device, string reason)
    {
        if (!membership.IsLive(device))
        {
            return;
        }
        var id = membership.IdOf(device);
        log.Error("{0}: {1}; it leaves the group and is restarted", id, reason);
        LoseQuietly(device);
        device.Tell(Kill.Instance);
    }

    private void Register(IActorRef device, DeviceStarted started)
    {
        Context.Watch(device);
        agents.Add(device.Path.Parent);
        membership.Register(device, started.Device, started.ProcessId, started.Endpoint);
    }

    private void Await(IEnumerable<IActorRef> devices)
    {
        awaiting.Clear();
        awaiting.UnionWith(devices);
        awaitingDeadline = Now + settings.AlignTimeoutSeconds;
    }

    private void AwaitingTick(string what)
    {
        CheckCaptureDeadline();
        if (Now < awaitingDeadline || awaiting.Count == 0)
        {
            return;
        }
        foreach (var device in awaiting.ToList())
        {
            DropSilent(device, $"no answer while {what} within {settings.AlignTimeoutSeconds:0.#} s");
        }
        awaiting.Clear();
        FormGroup($"device(s) silent while {what}", stepDiscarded: false);
    }

    // The sampler or the schedule stopped: the supervisor strategy stopped it after a failure.
    private bool ChildStopped(IActorRef actor)
    {
        if (!actor.Equals(sampler) && !actor.Equals(schedule))
        {
            return false;
        }
        Fail($"the {(actor.Equals(sampler) ? "task sampler" : "schedule manager")} failed: {childFailure ?? "stopped"}");
        return true;
    }

    // No more steps; a checkpoint already being written or committed still finishes (its state is
    // from before the failure, and keeping it keeps progress), bounded by its deadlines, and only
    // then is the failure reported, so the process does not end in the middle of a commit.
    private void Fail(string reason)
    {
        log.Error("training failed at step {0}: {1}", step, reason);
        AbortEpoch(reason);
        if (capture.Phase == CapturePhase.AwaitingState)
        {
            capture.Failed(capture.Step);     // the write order was never sent
        }
        var failed = new TrainingFailed(step, reason);
        if (!capture.Busy)
        {
            ReportFailure(failed);
            return;
        }
        Become(() =>
        {
            CheckpointHandlers();     // a commit or a failure settles it; the next tick reports
            Receive<Tick>(_ =>
            {
                CheckCaptureDeadline();
                ReportFailureWhenSettled(failed);
            });
            ReceiveAny(m => log.Debug("failing: ignoring {0}", m.GetType().Name));
        });
    }

    private void ReportFailureWhenSettled(TrainingFailed failed)
    {
        if (capture.Busy)
        {
            return;
        }
        ReportFailure(failed);
    }

    private void ReportFailure(TrainingFailed failed)
    {
        listener?.Tell(failed);
        TellAgents(new JobEnded(false, failed.Step, failed.Reason));
        Become(Finished);
    }

    /// <summary>The periodic deadline check.</summary>
    private sealed record Tick
    {
        public static Tick Instance { get; } = new();
    }
}
