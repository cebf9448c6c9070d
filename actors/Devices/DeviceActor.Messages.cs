using GppfActors.Actors.Messages;
using GppfActors.Collectives;

namespace GppfActors.Actors.Devices;

/// <summary>
/// Tells a device which collective group it belongs to for <paramref name="Epoch"/>: the group is
/// described by data only (each rank's process and that process's collective endpoint), and the
/// device's <see cref="ICollectiveGroupFactory"/> turns it into a group, in-process or over TCP.
/// </summary>
public sealed record JoinGroup(long Epoch, int Rank, GroupSpec Spec) : IGppfMessage;

/// <summary>
/// To rank 0's device of a new epoch whose group needs an id made in one member's process (NCCL's
/// unique id): make it with the process's <see cref="ICollectiveGroupFactory.NewGroupId"/>.
/// </summary>
public sealed record MakeGroupId(long Epoch) : IGppfMessage;

/// <summary>The id made for <paramref name="Epoch"/>'s group (null: the process's groups need none).</summary>
public sealed record GroupIdMade(long Epoch, string? Id) : IGppfMessage;

/// <summary>To a node agent: abort every local member of the epoch's group (wakes devices blocked in a collective; the sockets close, so remote members wake too).</summary>
public sealed record AbortGroup(long Epoch, string Reason) : IGppfMessage;

/// <summary>The device joined the group of <paramref name="Epoch"/> as <paramref name="Rank"/>.</summary>
public sealed record GroupJoined(long Epoch, int Rank, DeviceId Device) : IGppfMessage;

/// <summary>
/// Every device of the epoch takes <paramref name="Root"/>'s weights and optimizer state (a
/// collective): the state after <paramref name="Step"/> steps (-1: not said; the device then no
/// longer knows how far its replica is).
/// </summary>
public sealed record AlignReplicas(long Epoch, int Root, long Step = -1) : IGppfMessage;

/// <summary>The device now holds the root's state.</summary>
public sealed record ReplicasAligned(long Epoch, int Rank) : IGppfMessage;

/// <summary>The next step's assignment of a device, so its loader can prefetch.</summary>
public sealed record NextStepHint(long Step, string Task, IReadOnlyList<long> SampleIndices) : IGppfMessage;

/// <summary>
/// Run one SIMT step: this device's task and samples, the tasks of the whole step, LR and
/// temperature, and the coordinator's state as of this step (kept by the device for a coordinator
/// that may have to take over).
/// </summary>
public sealed record RunStep(
    long Epoch,
    long Step,
    string Task,
    IReadOnlyList<long> SampleIndices,
    IReadOnlyList<string> ActiveTasks,
    double LearningRate,
    double Tau,
    NextStepHint? Next,
    Coordinator.CoordinatorSnapshot? Snapshot = null) : IGppfMessage;

/// <summary>Seconds spent in each part of a step on one device.</summary>
public sealed record StepTimings(double Data, double ForwardBackward, double Fusion, double Optimizer) : IGppfMessage
{
    public double Total => Data + ForwardBackward + Fusion + Optimizer;
}

/// <summary>
/// A device finished its part of step <paramref name="Step"/>. <paramref name="Applied"/> is false
/// when the step was skipped on every replica because some device had a non-finite loss or
/// gradient (<paramref name="NonFiniteRanks"/> of them); nothing changed then.
/// <paramref name="UnitProbabilities"/>: the task's unit-selection probabilities after the step ([L][N]; null when not reported).
/// </summary>
public sealed record StepCompleted(
    long Epoch,
    long Step,
    int Rank,
    string Task,
    double Loss,
    IReadOnlyDictionary<string, double> Metrics,
    int Samples,
    StepTimings Timings,
    bool Applied = true,
    int NonFiniteRanks = 0,
    IReadOnlyList<IReadOnlyList<double>>? UnitProbabilities = null) : IGppfMessage;

/// <summary>Why a device could not finish a step.</summary>
public enum StepFailureKind
{
    /// <summary>A collective failed or was aborted (a peer failed, a time-out, a new epoch): the step can be tried again.</summary>
    Collective,

    /// <summary>A sample could not be read or is invalid: trying again reads the same sample, so the run stops.</summary>
    Data,
}

/// <summary>A device could not finish step <paramref name="Step"/>; its update was not applied.</summary>
public sealed record StepFailed(long Epoch, long Step, int Rank, string Reason, StepFailureKind Kind = StepFailureKind.Collective) : IGppfMessage;

/// <summary>Evaluate one task on its held-out split.</summary>
public sealed record EvaluateTask(long Step, string Task, int MaxBatches) : IGppfMessage;

/// <summary>Evaluating a task failed on this device; the reason names the cause (a file, a sample).</summary>
public sealed record EvaluationFailed(long Step, string Task, string Reason) : IGppfMessage;

/// <summary>Held-out metrics of one task at a step, and its controller's unit-selection probabilities per layer ([L][N]).</summary>
public sealed record TaskEvaluated(long Step, string Task, IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<IReadOnlyList<double>> UnitProbabilities) : IGppfMessage;

/// <summary>
/// A device actor (re)started and needs the current state before it can step. <paramref name="ProcessId"/>
/// and <paramref name="Endpoint"/> are its process's collective identity, for the group specs.
/// </summary>
public sealed record DeviceStarted(DeviceId Device, string ProcessId, string Endpoint) : IGppfMessage;

/// <summary>Load the committed checkpoint <paramref name="Record"/> into this replica (the root of the first alignment of a resumed run).</summary>
public sealed record RestoreCheckpoint(long Epoch, Checkpointing.CheckpointRecord Record) : IGppfMessage;

/// <summary>The replica now holds the checkpoint's state.</summary>
public sealed record CheckpointRestored(long Epoch, int Rank) : IGppfMessage;

/// <summary>The checkpoint could not be loaded on this device's node.</summary>
public sealed record RestoreFailed(long Epoch, int Rank, string Reason) : IGppfMessage;

/// <summary>Report a SHA-256 of this replica's model and optimizer state (to check that replicas are identical).</summary>
public sealed record ReportReplicaDigest(long Epoch) : IGppfMessage;

/// <summary>The SHA-256 of a replica's model and optimizer state, key by key in key order.</summary>
public sealed record ReplicaDigest(long Epoch, int Rank, DeviceId Device, string Sha256) : IGppfMessage;

/// <summary>A device actor could not build its workload (a checkpoint that does not fit, out of memory); it is stopped.</summary>
public sealed record DeviceFailedToStart(DeviceId Device, string Reason) : IGppfMessage;

/// <summary>
/// Copy this replica's state to host memory now (at the step boundary) and write it as checkpoint
/// <paramref name="Step"/> under <paramref name="Root"/> in the background, with the sampler,
/// schedule and job state the coordinator holds.
/// </summary>
public sealed record WriteCheckpoint(long Epoch, long Step, string Root, string SamplerJson, string ScheduleJson, string ConfigJson) : IGppfMessage;

/// <summary>Checkpoint files are written, fsynced, hashed and renamed into place; not yet committed.</summary>
public sealed record CheckpointWritten(long Step, Checkpointing.CheckpointRecord Record) : IGppfMessage;

/// <summary>Writing a checkpoint failed; nothing was committed.</summary>
public sealed record CheckpointWriteFailed(long Step, string Reason) : IGppfMessage;
