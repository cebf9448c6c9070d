using GppfActors.Actors.Messages;

namespace GppfActors.Actors.Coordinator;

/// <summary>
/// Progress of one finished step, for displays, event files and metrics. <paramref name="Devices"/>: what
/// each device of the step ran, in rank order. <paramref name="UnitProbabilities"/>: the
/// unit-selection probabilities ([L][N]) after the step of each task that ran in it.
/// </summary>
public sealed record TrainingProgress(
    long Step,
    long Epoch,
    int WorldSize,
    double LearningRate,
    double Tau,
    IReadOnlyDictionary<string, double> LossPerTask,
    IReadOnlyDictionary<string, double> MetricsPerTask,
    int Samples,
    IReadOnlyDictionary<string, int> SamplesPerTask,
    double StepSeconds,
    double SlowestDeviceSeconds,
    double DataSeconds,
    IReadOnlyList<DeviceStep> Devices,
    IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<double>>> UnitProbabilities) : IGppfMessage;

/// <summary>
/// One device's part of a finished step: the device on its node (<c>cpu:1</c>), the node
/// (<c>host:port</c>, empty in a single-process run), the task it ran and its step time in seconds.
/// </summary>
public sealed record DeviceStep(string Device, string Node, string Task, double Seconds) : IGppfMessage;

/// <summary>
/// Held-out metrics of every task at a step, each task's unit-selection probabilities ([L][N]),
/// and the tasks whose evaluation failed, with the reason.
/// </summary>
public sealed record EvaluationReport(
    long Step,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Metrics,
    IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<double>>> UnitProbabilities,
    IReadOnlyDictionary<string, string> Failures) : IGppfMessage;

/// <summary>
/// Step <paramref name="Step"/> was skipped on every replica: <paramref name="NonFiniteRanks"/>
/// device(s) had a non-finite loss or gradient (those whose task loss was non-finite are named).
/// </summary>
public sealed record StepSkipped(long Step, long Epoch, int NonFiniteRanks, IReadOnlyList<string> NonFiniteTasks, long TotalSkipped, int Consecutive) : IGppfMessage;

/// <summary>Membership changed: a new epoch with this many devices, and why.</summary>
public sealed record MembershipChanged(long Epoch, int WorldSize, string Reason, bool StepDiscarded) : IGppfMessage;

/// <summary>The job reached its last step and its final checkpoint is committed; tasks whose final evaluation failed are listed.</summary>
public sealed record TrainingFinished(
    long Step,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> FinalMetrics,
    IReadOnlyDictionary<string, string> EvaluationFailures) : IGppfMessage;

/// <summary>The job cannot go on.</summary>
public sealed record TrainingFailed(long Step, string Reason) : IGppfMessage;

/// <summary>A checkpoint was written and its commit is in the journal: it is durable.</summary>
public sealed record CheckpointSaved(Checkpointing.CheckpointRecord Record) : IGppfMessage;

/// <summary>A checkpoint could not be written or committed; training goes on, the previous checkpoint stays the latest.</summary>
public sealed record CheckpointNotSaved(long Step, string Reason) : IGppfMessage;

/// <summary>A cluster node's reachability changed as its failure detector sees it (relayed from Akka.Cluster; local to the coordinator's node).</summary>
public sealed record NodeReachability(string Node, bool Reachable) : IGppfMessage;

/// <summary>
/// The cluster downed a node (relayed from Akka.Cluster on the coordinator's node). A downed node
/// never comes back as the same incarnation, so its devices are lost at once: the next epoch does
/// not wait until every survivor has seen the node removed.
/// </summary>
public sealed record NodeDowned(string Node) : IGppfMessage;

/// <summary>For displays: a node became unreachable or reachable again, and what that means for its devices.</summary>
public sealed record NodeStatusChanged(string Node, string Status) : IGppfMessage;

/// <summary>At the end of the job every replica reported the same digest of its model and optimizer state.</summary>
public sealed record ReplicasVerified(long Step, int NumReplicas, string Sha256, IReadOnlyList<string> Devices) : IGppfMessage;
