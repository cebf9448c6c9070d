using GppfActors.Model.Routing;

namespace GppfActors.Model.Training;

/// <summary>
/// What one device does in one SIMT iteration: its task, the set of tasks any device runs in this
/// step (every device knows the whole assignment, so all reduce the same parameters), the routing
/// mode and temperature, the learning rate and the noise seed.
/// </summary>
public sealed record StepPlan(
    long Step,
    string Task,
    IReadOnlyCollection<string> ActiveTasks,
    RoutingMode Mode,
    double Tau,
    double LearningRate,
    ulong Seed)
{
    /// <summary>Cross-task SyncBN over the group (the paper's default); false gives per-device BN (an ablation).</summary>
    public bool SyncBatchNorm { get; init; } = true;

    /// <summary>Called on the device thread at each <see cref="StepPhase"/>; an exception thrown here fails the step as a device fault would.</summary>
    public Action<StepPhase>? OnPhase { get; init; }
}
