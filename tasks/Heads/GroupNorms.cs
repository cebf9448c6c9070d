using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

/// <summary>GroupNorm construction for heads: heads never use BatchNorm, so their statistics stay per sample and never cross tasks.</summary>
public static class GroupNorms
{
    /// <summary>
    /// The number of groups for <paramref name="channels"/>: the largest divisor that is at most 32
    /// (FCOS and Mask R-CNN heads: 32 groups) and leaves at least two channels per group, so narrow
    /// test heads do not degenerate into instance norm.
    /// </summary>
    public static int Groups(long channels)
    {
        for (long g = Math.Min(32, Math.Max(1, channels / 2)); g > 1; g--)
        {
            if (channels % g == 0)
            {
                return (int)g;
            }
        }
        return 1;
    }

    /// <summary>A GroupNorm over <paramref name="channels"/> channels with <see cref="Groups"/> groups, scale 1 and shift 0.</summary>
    /// <remarks>
    /// The affine parameters are set explicitly: TorchSharp 0.107's GroupNorm leaves them as
    /// uninitialised memory (seen here as ~1e-41 values and NaN outputs), unlike PyTorch's ones/zeros.
    /// </remarks>
    public static GroupNorm Create(long channels)
    {
        var gn = nn.GroupNorm(Groups(channels), channels);
        using var _ = no_grad();
        gn.weight!.fill_(1);
        gn.bias!.fill_(0);
        return gn;
    }
}
