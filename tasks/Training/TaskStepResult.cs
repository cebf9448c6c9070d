using GppfActors.Model.Training;

namespace GppfActors.Tasks.Training;

/// <summary>What one device's single-task step reports: the task, the optimised loss, the family's training statistics and the replica's timings.</summary>
/// <param name="Task">The task trained.</param>
/// <param name="Loss">The back-propagated loss (task loss times the task's loss weight).</param>
/// <param name="Metrics">Unweighted loss terms and training statistics by name (e.g. loss_cls, top1, num_pos).</param>
/// <param name="Replica">The replica's step result (loss, parameters updated, forward+backward / fusion / optimizer seconds).</param>
public sealed record TaskStepResult(string Task, double Loss, IReadOnlyDictionary<string, double> Metrics, StepResult Replica);
