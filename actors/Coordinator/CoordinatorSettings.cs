namespace GppfActors.Actors.Coordinator;

/// <summary>How the coordinator runs a job: steps, evaluation and checkpoint cadence, device count, time-outs.</summary>
public sealed record CoordinatorSettings(
    long MaxSteps,
    int ExpectedDevices,
    int EvalEverySteps = 0,
    int EvalBatches = 4,
    int CheckpointEverySteps = 0,
    double CollectiveTimeoutSeconds = 60,
    long StartStep = 0,
    string? CheckpointRoot = null,
    string ConfigJson = "{}")
{
    /// <summary>True when checkpoints are written (a root is set and a journal is given).</summary>
    public bool Checkpoints => CheckpointRoot is not null;

    /// <summary>Names the first invalid setting.</summary>
    public CoordinatorSettings Validate()
    {
        if (MaxSteps < 1)
        {
            throw new ArgumentException($"train.max_steps must be >= 1, got {MaxSteps}");
        }
        if (ExpectedDevices < 1)
        {
            throw new ArgumentException($"devices: at least one device is needed, got {ExpectedDevices}");
        }
        if (EvalEverySteps < 0 || CheckpointEverySteps < 0)
        {
            throw new ArgumentException("eval.every_steps and checkpoint.every_steps must be >= 0 (0 = never)");
        }
        if (!(CollectiveTimeoutSeconds > 0))
        {
            throw new ArgumentException($"collectives.timeout_seconds must be > 0, got {CollectiveTimeoutSeconds}");
        }
        return this;
    }
}
