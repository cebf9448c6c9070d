namespace GppfActors.Actors.Sampling;

/// <summary>How tasks are assigned to devices in one iteration (the paper's Table 1 ablation).</summary>
public enum SamplingMode
{
    /// <summary>SIMT: every device draws its own task by the sampling weights.</summary>
    Simt,

    /// <summary>Per-batch: one task is drawn per iteration and every device runs it.</summary>
    PerBatch,
}
