using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;
using GppfActors.Collectives;

namespace GppfActors.Actors.Coordinator;

/// <summary>
/// Runs the job: forms the collective group of each membership epoch, aligns replicas, drives the
/// step loop (one round trip per step, every message carrying the epoch), evaluates, and recovers
/// from device failures by discarding or accepting the step in flight and forming a new epoch.
/// Parent of the task sampler and the schedule manager; one per job.
/// </summary>
public sealed class TrainingCoordinator : ReceiveActor
{
    private readonly CoordinatorSettings settings;
    private readonly IActorRef? listener;
    private readonly IActorRef sampler;
    private readonly IActorRef schedule;
    private readonly IReadOnlyList<string> taskNames;
    private readonly IActorRef? journal;
    private readonly ICrashInjector crashes;
    private readonly ILoggingAdapter log = Context.GetLogger();

    // Membership: every live device, the rank order of the current epoch, and devices whose
    // replica is not current (fresh or restarted) and must receive state before stepping.
    private readonly Dictionary<IActorRef, DeviceId> live = [];
    private readonly HashSet<IActorRef> stale = [];
    private List<IActorRef> ranks = [];
    private InProcessCollectiveHub? hub;
    private long epoch;
    private int answered;
    private bool membershipChanged;

    // The step loop.
    private long step;
    private StepRound? round;
    private StepDrawn? drawn;
    private ScheduleAt? scheduled;
    private readonly Stopwatch stepClock = new();
    private Dictionary<string, IReadOnlyDictionary<string, double>> evaluation = [];
    private Dictionary<string, IReadOnlyList<IReadOnlyList<double>>> routing = [];
    private int pendingEvaluations;
    private bool finishing;
    private bool finalEvaluationDone;
    private bool finishedReported;

    // Checkpoints: the step whose state is being captured (sampler and schedule state requested,
    // WriteCheckpoint not yet sent), and the step being written or committed.
    private long? captureStep;
    private string? samplerJson;
    private string? scheduleJson;
    private long? writingStep;
    private long lastCommittedStep = -1;

    public TrainingCoordinator(CoordinatorSettings settings, TaskSamplerState samplerState, ScheduleState scheduleState, IActorRef? listener,
        IActorRef? journal = null, ICrashInjector? crashes = null)
    {
        this.settings = settings.Validate();
        this.listener = listener;
        this.journal = settings.Checkpoints ? journal ?? throw new ArgumentException("checkpoints need a journal", nameof(journal)) : null;
        this.crashes = crashes ?? NoCrashInjector.Instance;
        taskNames = samplerState.Tasks.Select(t => t.Name).ToArray();
        step = settings.StartStep;
        sampler = Context.ActorOf(TaskSamplerActor.Props(samplerState), ActorPaths.TaskSampler);
        schedule = Context.ActorOf(ScheduleManager.Props(scheduleState), ActorPaths.ScheduleManager);
        WaitingForDevices();
    }

    public static Props Props(CoordinatorSettings settings, TaskSamplerState samplerState, ScheduleState scheduleState, IActorRef? listener,
        IActorRef? journal = null, ICrashInjector? crashes = null) =>
        Akka.Actor.Props.Create(() => new TrainingCoordinator(settings, samplerState, scheduleState, listener, journal, crashes));

    /// <summary>
    /// Policy: the sampler and the schedule manager hold pure state that a restart would lose, and
    /// they only fail on programming errors; such a failure stops the job rather than continuing
    /// with a sampler or schedule that differs from the checkpointed one.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(0, TimeSpan.Zero, _ => Directive.Escalate);

    protected override void PostStop() => hub?.Abort("coordinator stopped");

    private void WaitingForDevices()
    {
        Become(() =>
        {
            Receive<DeviceStarted>(m =>
            {
                Register(Sender, m.Device);
                if (live.Count >= settings.ExpectedDevices)
                {
                    FormGroup($"{live.Count} device(s) started", stepDiscarded: false);
                }
            });
            Receive<Terminated>(m => live.Remove(m.ActorRef));
        });
    }

    // A new epoch: abort the old group (unblocking anyone still in it), assign ranks, hand out the group.
    private void FormGroup(string reason, bool stepDiscarded)
    {
        if (live.Count == 0)
        {
            Fail("no device is left");
            return;
        }
        epoch++;
        hub?.Abort($"epoch {epoch - 1} superseded: {reason}");
        ranks = live.OrderBy(kv => kv.Value.Kind, StringComparer.Ordinal).ThenBy(kv => kv.Value.Ordinal).Select(kv => kv.Key).ToList();
        hub = new InProcessCollectiveHub(epoch, ranks.Count, TimeSpan.FromSeconds(settings.CollectiveTimeoutSeconds));
        membershipChanged = false;
        answered = 0;
        log.Info("epoch {0}: {1} device(s) [{2}] ({3})", epoch, ranks.Count, string.Join(", ", ranks.Select(r => live[r])), reason);
        listener?.Tell(new MembershipChanged(epoch, ranks.Count, reason, stepDiscarded));
        for (int r = 0; r < ranks.Count; r++)
        {
            ranks[r].Tell(new JoinGroup(epoch, r, hub));
        }
        Become(Joining);
    }

    private void Joining()
    {
        CheckpointHandlers();
        Receive<GroupJoined>(m =>
        {
            if (m.Epoch == epoch && ++answered == ranks.Count)
            {
                Align();
            }
        });
        CommonMembershipHandlers();
    }

    private void Align()
    {
        int root = ranks.FindIndex(r => !stale.Contains(r));
        if (root < 0)
        {
            if (step > settings.StartStep)
            {
                Fail($"every device lost its state at step {step}; restart from the last checkpoint with --resume");
                return;
            }
            root = 0;   // nothing ran yet: rank 0's initial (or resumed) state becomes everyone's
        }
        answered = 0;
        foreach (var device in ranks)
        {
            device.Tell(new AlignReplicas(epoch, root));
        }
        Become(Aligning);
    }

    private void Aligning()
    {
        CheckpointHandlers();
        Receive<ReplicasAligned>(m =>
        {
            if (m.Epoch == epoch && ++answered == ranks.Count)
            {
                stale.Clear();
                BeginStep();
            }
        });
        Receive<StepFailed>(m =>
        {
            if (m.Epoch == epoch)
            {
                FormGroup($"aligning replicas failed on rank {m.Rank}: {m.Reason}", stepDiscarded: false);
            }
        });
        CommonMembershipHandlers();
    }

    private void BeginStep()
    {
        if (membershipChanged)
        {
            FormGroup("devices joined or left", stepDiscarded: false);
            return;
        }
        if (step >= settings.MaxSteps)
        {
            finishing = true;
            if (settings.Checkpoints && lastCommittedStep < step)
            {
                RequestCapture();
                SendCheckpointRequest();   // nothing else will run: capture right away
            }
            StartEvaluation();
            return;
        }
        drawn = null;
        scheduled = null;
        round = null;
        if (settings.Checkpoints && settings.CheckpointEverySteps > 0 && step > settings.StartStep && step % settings.CheckpointEverySteps == 0)
        {
            RequestCapture();
        }
        sampler.Tell(new DrawStep(step, ranks.Count));
        schedule.Tell(new GetSchedule(step));
        Become(Stepping);
    }

    private void Stepping()
    {
        CheckpointHandlers();
        Receive<StepDrawn>(m =>
        {
            if (m.Step == step && m.Tasks.Count == ranks.Count)
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
            if (m.Epoch == epoch && round is not null && m.Step == round.Step)
            {
                round.Complete(m);
                CheckRound();
            }
        });
        Receive<StepFailed>(m =>
        {
            if (m.Epoch == epoch && round is not null)
            {
                round.Fail(m.Rank);
                CheckRound();
            }
        });
        Receive<DeviceStarted>(m =>
        {
            int rank = ranks.IndexOf(Sender);
            Register(Sender, m.Device);
            if (rank >= 0)
            {
                // A device of this epoch restarted: its part of the step is lost. Wake the others now.
                hub?.Abort($"{m.Device} (rank {rank}) restarted");
                if (round is null)
                {
                    FormGroup($"{m.Device} restarted", stepDiscarded: false);
                    return;
                }
                round.Fail(rank);
                CheckRound();
            }
        });
        Receive<Terminated>(m =>
        {
            int rank = ranks.IndexOf(m.ActorRef);
            Forget(m.ActorRef);
            if (rank >= 0)
            {
                hub?.Abort($"rank {rank} stopped");
                if (round is null)
                {
                    FormGroup($"rank {rank} stopped", stepDiscarded: false);
                    return;
                }
                round.Fail(rank);
                CheckRound();
            }
        });
    }

    private void TryDispatch()
    {
        if (drawn is null || scheduled is null || round is not null)
        {
            return;
        }
        SendCheckpointRequest();     // before RunStep, so rank 0 copies the state of this boundary
        round = new StepRound(step, ranks.Count);
        var active = drawn.Tasks.Distinct().ToArray();
        stepClock.Restart();
        for (int r = 0; r < ranks.Count; r++)
        {
            var next = new NextStepHint(step + 1, drawn.NextTasks[r], drawn.NextIndices[r]);
            ranks[r].Tell(new RunStep(epoch, step, drawn.Tasks[r], drawn.Indices[r], active, scheduled.LearningRate, scheduled.Tau, next));
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
            Report(finished);
            step++;
            if (settings.EvalEverySteps > 0 && step % settings.EvalEverySteps == 0 && step < settings.MaxSteps)
            {
                StartEvaluation();
                return;
            }
            BeginStep();
            return;
        }

        // Some rank did not complete. The last collective of a step releases every member together,
        // so if anyone completed, every survivor applied the update: the step counts. Otherwise no
        // one applied it: it is discarded and drawn again identically.
        string failedRanks = string.Join(", ", finished.FailedRanks);
        if (finished.Applied)
        {
            Report(finished);
            step++;
            FormGroup($"step {finished.Step} completed, but rank(s) {failedRanks} failed", stepDiscarded: false);
        }
        else
        {
            sampler.Tell(new RewindTo(finished.Step));
            FormGroup($"step {finished.Step} failed on rank(s) {failedRanks}; discarded", stepDiscarded: true);
        }
    }

    private void Report(StepRound finished)
    {
        var done = finished.Completed.ToList();
        var lossPerTask = done.GroupBy(c => c.Task).ToDictionary(g => g.Key, g => g.Average(c => c.Loss));
        var metricsPerTask = done.SelectMany(c => c.Metrics.Select(m => (Key: $"{c.Task}/{m.Key}", m.Value)))
            .GroupBy(x => x.Key).ToDictionary(g => g.Key, g => g.Average(x => x.Value));
        listener?.Tell(new TrainingProgress(finished.Step, epoch, ranks.Count, scheduled?.LearningRate ?? 0, scheduled?.Tau ?? 0,
            lossPerTask, metricsPerTask, done.Sum(c => c.Samples), done.GroupBy(c => c.Task).ToDictionary(g => g.Key, g => g.Sum(c => c.Samples)),
            stepClock.Elapsed.TotalSeconds,
            done.Count == 0 ? 0 : done.Max(c => c.Timings.Total), done.Count == 0 ? 0 : done.Max(c => c.Timings.Data)));
    }

    // Evaluation runs every task on its held-out split, tasks spread over the devices; no collectives.
    private void StartEvaluation()
    {
        evaluation = [];
        routing = [];
        pendingEvaluations = taskNames.Count;
        for (int i = 0; i < taskNames.Count; i++)
        {
            ranks[i % ranks.Count].Tell(new EvaluateTask(step, taskNames[i], settings.EvalBatches));
        }
        Become(Evaluating);
    }

    private void Evaluating()
    {
        CheckpointHandlers();
        Receive<TaskEvaluated>(m =>
        {
            if (m.Step != step || evaluation.ContainsKey(m.Task))
            {
                return;
            }
            evaluation[m.Task] = m.Metrics;
            routing[m.Task] = m.UnitProbabilities;
            if (--pendingEvaluations > 0)
            {
                return;
            }
            listener?.Tell(new EvaluationReport(step, evaluation, routing));
            if (finishing)
            {
                finalEvaluationDone = true;
                TryFinish();
                return;
            }
            BeginStep();
        });
        CommonMembershipHandlers();
    }

    // The job ends when the final evaluation is in and the final checkpoint is committed.
    private void TryFinish()
    {
        if (finishedReported || !finalEvaluationDone || (settings.Checkpoints && (writingStep is not null || captureStep is not null)))
        {
            return;
        }
        finishedReported = true;
        listener?.Tell(new TrainingFinished(step, evaluation));
        Become(Finished);
    }

    private void RequestCapture()
    {
        if (writingStep is not null || captureStep is not null)
        {
            listener?.Tell(new CheckpointNotSaved(step, $"skipped: checkpoint of step {writingStep ?? captureStep} is still being written"));
            return;
        }
        captureStep = step;
        samplerJson = null;
        scheduleJson = null;
        sampler.Tell(GetSamplerState.Instance);
        schedule.Tell(GetScheduleState.Instance);
    }

    // Sent once the sampler and schedule have answered (they answer before the step's draw and
    // schedule, which come from the same actors and were asked later).
    private void SendCheckpointRequest()
    {
        if (captureStep is not { } capture)
        {
            return;
        }
        if (samplerJson is null || scheduleJson is null)
        {
            return;   // at the job's end: sent as soon as both states arrive
        }
        captureStep = null;
        writingStep = capture;
        ranks[0].Tell(new WriteCheckpoint(epoch, capture, settings.CheckpointRoot!, samplerJson, scheduleJson, settings.ConfigJson));
    }

    private void CheckpointHandlers()
    {
        Receive<SamplerState>(m =>
        {
            samplerJson = m.Json;
            if (finishing)
            {
                SendCheckpointRequest();
            }
        });
        Receive<ScheduleStateJson>(m =>
        {
            scheduleJson = m.Json;
            if (finishing)
            {
                SendCheckpointRequest();
            }
        });
        Receive<CheckpointWritten>(m => journal!.Tell(new CommitCheckpoint(m.Record)));
        Receive<CheckpointWriteFailed>(m => CheckpointFailed(m.Step, $"writing failed: {m.Reason}"));
        Receive<CommitCheckpointFailed>(m => CheckpointFailed(m.Step, $"commit refused: {m.Reason}"));
        Receive<CheckpointCommitted>(m =>
        {
            crashes.Hit(CrashPoints.AfterJournal, m.Record.Step);
            lastCommittedStep = Math.Max(lastCommittedStep, m.Record.Step);
            if (writingStep == m.Record.Step)
            {
                writingStep = null;
            }
            listener?.Tell(new CheckpointSaved(m.Record));
            TryFinish();
        });
    }

    private void CheckpointFailed(long failedStep, string reason)
    {
        log.Warning("checkpoint of step {0} not saved: {1}", failedStep, reason);
        if (writingStep == failedStep)
        {
            writingStep = null;
        }
        listener?.Tell(new CheckpointNotSaved(failedStep, reason));
        TryFinish();
    }

    private void Finished()
    {
        CheckpointHandlers();
        Receive<DeviceStarted>(m => Register(Sender, m.Device));
        Receive<Terminated>(m => Forget(m.ActorRef));
    }

    // While no step is in flight, any change of membership forms a new epoch right away.
    private void CommonMembershipHandlers()
    {
        Receive<DeviceStarted>(m =>
        {
            Register(Sender, m.Device);
            FormGroup($"{m.Device} started", stepDiscarded: false);
        });
        Receive<Terminated>(m =>
        {
            bool wasMember = ranks.Contains(m.ActorRef);
            Forget(m.ActorRef);
            if (wasMember)
            {
                FormGroup($"{m.ActorRef.Path.Name} stopped", stepDiscarded: false);
            }
        });
        Receive<StepFailed>(m => log.Debug("ignoring failure of epoch {0}", m.Epoch));
    }

    private void Register(IActorRef device, DeviceId id)
    {
        if (!live.ContainsKey(device))
        {
            Context.Watch(device);
        }
        live[device] = id;
        stale.Add(device);
        membershipChanged = true;
    }

    private void Forget(IActorRef device)
    {
        live.Remove(device);
        stale.Remove(device);
        membershipChanged = true;
    }

    private void Fail(string reason)
    {
        log.Error("training failed at step {0}: {1}", step, reason);
        hub?.Abort(reason);
        listener?.Tell(new TrainingFailed(step, reason));
        Become(Finished);
    }
}
