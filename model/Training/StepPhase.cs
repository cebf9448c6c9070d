namespace GppfActors.Model.Training;

/// <summary>Points inside one device's step at which <see cref="StepPlan.OnPhase"/> is called (fault injection, tracing).</summary>
public enum StepPhase
{
    /// <summary>The forward pass and the loss are done; backward has not started.</summary>
    AfterForward,

    /// <summary>Inside backward, at the first SyncBN backward collective of the step (not called without SyncBN).</summary>
    InBackward,

    /// <summary>Task-average fusion is done; the optimizer has not stepped.</summary>
    AfterFusion,
}
