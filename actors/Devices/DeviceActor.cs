using Akka.Actor;
using Akka.Event;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Logging;
using GppfActors.Actors.Metrics;
using GppfActors.Collectives;
using GppfActors.Model.Routing;
using GppfActors.Model.Training;

namespace GppfActors.Actors.Devices;

/// <summary>
/// Owns one device (a CUDA context or a virtual CPU device), its model replica, optimizer state and
/// task loaders, on its own OS thread; runs each <see cref="RunStep"/> synchronously and answers
/// with the outcome. Child of the node agent, which supervises it.
/// </summary>
public sealed class DeviceActor : ReceiveActor
{
    private readonly DeviceId device;
    private readonly IDeviceWorkloadFactory factory;
    private readonly ICollectiveGroupFactory collectives;
    private readonly IActorRef coordinator;
    private readonly RoutingMode mode;
    private readonly bool syncBatchNorm;
    private readonly ulong seed;
    private readonly DeviceFaults faults;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly NodeMetrics? metrics = NodeMetrics.Of(Context.System);
    private IDeviceWorkload? workload;
    private CountingCollectiveGroup? group;
    private long epoch = -1;
    private bool writing;

    // Tensors this thread created that a checkpoint writer disposed on its own thread: TorchSharp
    // counts live tensors per thread, so the device's count subtracts them.
    private long tensorsDisposedByWriters;

    // What a coordinator taking over needs from this device: how many steps the replica has
    // applied (null: no trained state), whether the last one was skipped as non-finite, and the
    // coordinator's snapshot that came with the last step. Once a coordinator has taken over, only
    // commands from its node are obeyed: a coordinator that was cut off cannot drive this device.
    private long? readyFor;
    private bool lastStepSkipped;
    private Coordinator.CoordinatorSnapshot? lastSnapshot;
    private Address? leaderNode;

    public DeviceActor(DeviceId device, IDeviceWorkloadFactory factory, ICollectiveGroupFactory collectives, IActorRef coordinator, RoutingMode mode, bool syncBatchNorm,
        ulong seed, DeviceFaults? faults = null)
    {
        this.faults = faults ?? DeviceFaults.None;
        this.device = device;
        this.factory = factory;
        this.collectives = collectives;
        this.coordinator = coordinator;
        this.mode = mode;
        this.syncBatchNorm = syncBatchNorm;
        this.seed = seed;
        Receive<Coordinator.ReportForTakeover>(Handle);
        Receive<MakeGroupId>(m => FromLeader(m, Handle));
        Receive<JoinGroup>(m => FromLeader(m, Handle));
        Receive<AlignReplicas>(m => FromLeader(m, Handle));
        Receive<RunStep>(m => FromLeader(m, Handle));
        Receive<EvaluateTask>(m => FromLeader(m, Handle));
        Receive<WriteCheckpoint>(m => FromLeader(m, Handle));
        Receive<RestoreCheckpoint>(m => FromLeader(m, Handle));
        Receive<ReportReplicaDigest>(m => FromLeader(m, d => Sender.Tell(new ReplicaDigest(d.Epoch, group?.Rank ?? -1, device, workload!.StateDigest()))));
        Receive<WriteEnded>(m =>
        {
            writing = false;
            tensorsDisposedByWriters += m.TensorsDisposed;
        });
    }

    // A command from a coordinator other than the one that took over last is dropped.
    private void FromLeader<T>(T message, Action<T> handle)
    {
        if (leaderNode is { } leader && !Sender.Path.Address.Equals(leader))
        {
            log.Warning("{0}: dropping {1} from {2}: the coordinator on {3} took over", device, typeof(T).Name, Sender.Path.Address, leader);
            return;
        }
        handle(message);
    }

    // A coordinator is taking over (the previous one's node was lost): report what this replica
    // holds, and from now on obey only that coordinator.
    private void Handle(Coordinator.ReportForTakeover message)
    {
        leaderNode = Sender.Path.Address;
        Sender.Tell(new Coordinator.DeviceReport(device, collectives.ProcessId, collectives.Endpoint, epoch, readyFor, lastStepSkipped, lastSnapshot));
    }

    /// <summary>Props on the pinned device dispatcher: the actor keeps one OS thread for its life.</summary>
    public static Props Props(DeviceId device, IDeviceWorkloadFactory factory, ICollectiveGroupFactory collectives, IActorRef coordinator, RoutingMode mode,
        bool syncBatchNorm, ulong seed, DeviceFaults? faults = null) =>
        Akka.Actor.Props.Create(() => new DeviceActor(device, factory, collectives, coordinator, mode, syncBatchNorm, seed, faults))
            .WithDispatcher(ActorPaths.DeviceDispatcher);

    /// <summary>The replica, for tests and the in-process benchmarks that inspect weights.</summary>
    internal IDeviceWorkload? Workload => workload;

    protected override void PreStart()
    {
        try
        {
            workload = factory.Create(device);
        }
        catch (Exception e)
        {
            // The node agent stops a device that cannot start; the coordinator learns why from here,
            // so a run that cannot start ends with the cause instead of waiting for this device.
            coordinator.Tell(new DeviceFailedToStart(device, e.InnerException is { } inner && e is System.Reflection.TargetInvocationException ? inner.Message : e.Message));
            throw;
        }
        coordinator.Tell(new DeviceStarted(device, collectives.ProcessId, collectives.Endpoint));
    }

    protected override void PostRestart(Exception reason)
    {
        metrics?.DeviceRestarted(device);
        base.PostRestart(reason);
    }

    protected override void PostStop()
    {
        group?.Dispose();
        workload?.Dispose();
    }

    // Rank 0 of an NCCL epoch: the communicator's id comes from this process, whose bootstrap
    // root the other ranks then connect to.
    private void Handle(MakeGroupId message)
    {
        if (message.Epoch <= epoch)
        {
            log.Warning("{0}: not making an id for epoch {1}: epoch {2} was joined already", device, message.Epoch, epoch);
            return;
        }
        string? id;
        try
        {
            id = collectives.NewGroupId();
        }
        catch (Exception e) when (e is CollectiveException or InvalidOperationException)
        {
            log.Warning("{0}: could not make the group id of epoch {1}: {2}", device, message.Epoch, e.Message);
            Sender.Tell(new StepFailed(message.Epoch, -1, 0, $"{device}: making the group id failed: {e.Message}"));
            return;
        }
        Sender.Tell(new GroupIdMade(message.Epoch, id));
    }

    private void Handle(JoinGroup message)
    {
        if (message.Epoch <= epoch)
        {
            // Epochs only grow: an older or repeated one comes from a superseded coordinator.
            log.Warning("{0}: refusing to join epoch {1}: epoch {2} was joined already", device, message.Epoch, epoch);
            return;
        }
        group?.Dispose();
        group = null;
        epoch = message.Epoch;
        try
        {
            // Joining builds (or, for the other local ranks, finds) the epoch's group; connecting to
            // remote members happens on the first collective, bounded by the spec's time-out.
            group = new CountingCollectiveGroup(collectives.Join(message.Spec, message.Rank, device.Local));
        }
        catch (CollectiveException e)
        {
            log.Warning("{0}: could not join the group of epoch {1}: {2}", device, message.Epoch, e.Message);
            Sender.Tell(new StepFailed(message.Epoch, -1, message.Rank, e.Message));
            return;
        }
        Sender.Tell(new GroupJoined(message.Epoch, message.Rank, device));
    }

    private void Handle(RestoreCheckpoint message)
    {
        if (!IsCurrent(message.Epoch, nameof(RestoreCheckpoint)))
        {
            return;
        }
        try
        {
            workload!.Restore(message.Record);
            readyFor = message.Record.Step;
            Sender.Tell(new CheckpointRestored(message.Epoch, group!.Rank));
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            readyFor = null;
            Sender.Tell(new RestoreFailed(message.Epoch, group!.Rank, $"{device}: {e.Message}"));
        }
    }

    private void Handle(AlignReplicas message)
    {
        if (!IsCurrent(message.Epoch, nameof(AlignReplicas)))
        {
            return;
        }
        try
        {
            workload!.Replica.AlignFrom(group!, message.Root);
            readyFor = message.Step >= 0 ? message.Step : null;
            Sender.Tell(new ReplicasAligned(message.Epoch, group!.Rank));
        }
        catch (CollectiveException e)
        {
            if (group!.Rank != message.Root)
            {
                readyFor = null;    // the broadcast may have overwritten part of this replica
            }
            Sender.Tell(new StepFailed(message.Epoch, -1, group!.Rank, e.Message));
        }
    }

    private void Handle(RunStep message)
    {
        if (!IsCurrent(message.Epoch, nameof(RunStep)))
        {
            return;
        }
        lastSnapshot = message.Snapshot ?? lastSnapshot;
        NodeRunContext.For(Context.System).At(message.Epoch, message.Step);
        var plan = new StepPlan(message.Step, message.Task, message.ActiveTasks, mode, message.Tau, message.LearningRate, seed)
        {
            SyncBatchNorm = syncBatchNorm,
        };
        try
        {
            if (faults.TryTake(device, message.Step, out var phase))
            {
                if (phase is not { } at)
                {
                    throw new InjectedDeviceFaultException(device, message.Step, "start of the step");
                }
                plan = plan with { OnPhase = p => ThrowAt(p, at, message.Step) };
            }
            var (bytesBefore, waitBefore) = (group!.Bytes, group.WaitTime);
            var outcome = workload!.Step(group, plan, message.SampleIndices, message.Next);
            var t = outcome.Timings;
            readyFor = message.Step + 1;
            lastStepSkipped = !t.Applied;
            var timings = new StepTimings(outcome.DataSeconds, t.ForwardBackwardSeconds, t.FusionSeconds, t.OptimizerSeconds);
            // The routing of the task after this step, for the coordinator's progress (a softmax of [L, N] logits).
            var probabilities = workload.UnitProbabilities(message.Task);
            Sender.Tell(new StepCompleted(message.Epoch, message.Step, group.Rank, message.Task, outcome.Loss, outcome.Metrics,
                outcome.Samples, timings, t.Applied, t.NonFiniteRanks, probabilities));
            metrics?.DeviceStep(device, message.Task, timings, new DeviceCounters(group.Bytes - bytesBefore, (group.WaitTime - waitBefore).TotalSeconds,
                workload.LoaderQueueDepth, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount - tensorsDisposedByWriters + workload.ForeignTensorsDisposed));
        }
        catch (CollectiveException e)
        {
            // The group of this epoch is dead; no update was applied. Wait for the next epoch.
            log.Warning("{0}: step {1} of epoch {2} failed in a collective: {3}", device, message.Step, message.Epoch, e.Message);
            Sender.Tell(new StepFailed(message.Epoch, message.Step, group!.Rank, e.Message));
        }
        catch (DeviceDataException e)
        {
            // Nothing of the step ran on this device and the replica is intact, so no restart: the
            // peers are woken and the coordinator decides (a data error ends the run).
            group!.Abort($"{device} (rank {group.Rank}) could not load the data of step {message.Step}");
            Sender.Tell(new StepFailed(message.Epoch, message.Step, group.Rank, e.Message, StepFailureKind.Data));
        }
        catch (Exception e)
        {
            // Wake the peers waiting on us before the supervisor restarts this actor.
            group!.Abort($"{device} (rank {group.Rank}) failed in step {message.Step}: {e.Message}");
            throw;
        }
    }

    private void ThrowAt(StepPhase reached, StepPhase planned, long step)
    {
        if (reached == planned)
        {
            throw new InjectedDeviceFaultException(device, step, reached.ToString());
        }
    }

    private void Handle(EvaluateTask message)
    {
        try
        {
            var metrics = workload!.Evaluate(message.Task, message.MaxBatches);
            Sender.Tell(new TaskEvaluated(message.Step, message.Task, metrics, workload.UnitProbabilities(message.Task)));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Evaluation changes no training state, so a failure is reported rather than restarting
            // the device; repeating it would fail the same way.
            log.Error(e, "{0}: evaluating {1} at step {2} failed", device, message.Task, message.Step);
            Sender.Tell(new EvaluationFailed(message.Step, message.Task, e.Message));
        }
    }

    // State is copied to host memory here, between two steps; the files are written on a
    // background task while this actor goes on stepping. The outcome goes straight to the
    // coordinator (the commit never waits for this actor, which may be inside a long step).
    private void Handle(WriteCheckpoint message)
    {
        if (writing)
        {
            Sender.Tell(new CheckpointWriteFailed(message.Step, "the previous checkpoint is still being written"));
            return;
        }
        CheckpointPayload payload;
        try
        {
            payload = workload!.CaptureCheckpoint(message.Step, message.Epoch, message.ScheduleJson, message.SamplerJson, message.ConfigJson,
                new Dictionary<string, string> { ["device"] = device.ToString() });
        }
        catch (NonFiniteStateException e)
        {
            // Never committed: retention would then delete the last good checkpoint.
            Sender.Tell(new CheckpointWriteFailed(message.Step, e.Message));
            return;
        }
        writing = true;
        var (replyTo, self) = (Sender, Self);
        var writer = new CheckpointWriter(EnvironmentCrashInjector.FromEnvironment());
        var (sink, id) = (metrics, device);
        Task.Run(() =>
        {
            object result;
            long disposed = 0;
            try
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var record = writer.Write(message.Root, payload);
                sink?.CheckpointWritten(id, clock.Elapsed.TotalSeconds, record.Bytes);
                result = new CheckpointWritten(message.Step, record);
            }
            catch (Exception e)
            {
                result = new CheckpointWriteFailed(message.Step, e.Message);
            }
            finally
            {
                var stats = TorchSharp.DisposeScopeManager.Statistics;
                long live = stats.ThreadTotalLiveCount;
                payload.Dispose();
                disposed = live - stats.ThreadTotalLiveCount;
            }
            replyTo.Tell(result, self);
            self.Tell(new WriteEnded(disposed));
        });
    }

    private sealed record WriteEnded(long TensorsDisposed);

    private bool IsCurrent(long messageEpoch, string what)
    {
        if (messageEpoch == epoch && group is not null)
        {
            return true;
        }
        log.Info("{0}: dropping {1} of epoch {2} (current epoch {3})", device, what, messageEpoch, epoch);
        return false;
    }
}
