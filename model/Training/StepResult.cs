namespace GppfActors.Model.Training;

/// <summary>Outcome of one device's step: its loss and where the time went (forward+backward includes the SyncBN collectives).</summary>
public sealed record StepResult(
    double Loss,
    int NumParametersUpdated,
    double ForwardBackwardSeconds,
    double FusionSeconds,
    double OptimizerSeconds);
