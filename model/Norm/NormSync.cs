using GppfActors.Collectives;

namespace GppfActors.Model.Norm;

/// <summary>
/// Per-replica switch that tells every <see cref="SyncBatchNorm2d"/> of a backbone which collective
/// group to normalise over this step. Shared by all BN layers of one replica; set by whoever runs the step.
/// </summary>
public sealed class NormSync
{
    /// <summary>The group of this step; null means plain per-device batch norm.</summary>
    public ICollectiveGroup? Group { get; set; }

    /// <summary>
    /// True in hard routing mode: devices may run different units of a lego layer, so each BN index of
    /// a layer issues one collective covering all N units (zeros and count 0 for units not run here),
    /// which keeps every device's sequence of collectives identical.
    /// </summary>
    public bool FuseUnits { get; set; }
}
