namespace GppfActors.Model.Training;

/// <summary>Outcome of one device's step: its loss and where the time went (forward+backward includes the SyncBN collectives).</summary>
/// <param name="Applied">
/// False when the step was skipped on every replica because some device produced a non-finite loss
/// or gradient: no parameter, optimizer state or BatchNorm buffer changed.
/// </param>
/// <param name="NonFiniteRanks">How many devices of the group reported non-finite values in this step.</param>
public sealed record StepResult(
    double Loss,
    int NumParametersUpdated,
    double ForwardBackwardSeconds,
    double FusionSeconds,
    double OptimizerSeconds,
    bool Applied = true,
    int NonFiniteRanks = 0);
