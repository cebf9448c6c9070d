using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

/// <summary>Per-location training targets of the detection head for a batch (rows in <see cref="Heads.FcosLayout"/> order).</summary>
/// <param name="Labels">Class of the assigned box, or <see cref="Background"/>; [B, N] int64.</param>
/// <param name="Distances">l, t, r, b from the location to the assigned box's sides, pixels; [B, N, 4] (meaningless at background).</param>
/// <param name="Centerness">sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)); [B, N] (0 at background).</param>
/// <param name="Points">Location centres (x, y) in pixels; [N, 2].</param>
/// <param name="BoxIndices">Index of the assigned box in its image's box list, or <see cref="Background"/>; [B, N] int64.</param>
public sealed record FcosTargets(Tensor Labels, Tensor Distances, Tensor Centerness, Tensor Points, Tensor BoxIndices)
{
    /// <summary>The label of a location no box was assigned to.</summary>
    public const long Background = -1;
}
