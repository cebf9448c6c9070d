using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: B batch, H x W image, V valid pixels of the batch.

/// <summary>
/// Scale-invariant log loss (Eigen et al. 2014) as BTS uses it: with d = log(pred) - log(gt) over
/// valid pixels of the whole batch, scale * sqrt(mean(d^2) - lambda * mean(d)^2). A pixel is valid when
/// its ground truth lies in (min depth, max depth): 0 means no measurement, and a depth beyond the range
/// is left out rather than clamped to the cap (clamping taught a capped head to sit at the cap).
/// </summary>
public static class SilogLoss
{
    /// <summary>
    /// The loss of predicted depth against ground truth, both [B, 1, H, W] metres, over pixels whose ground
    /// truth lies in (<paramref name="minDepth"/>, <paramref name="maxDepth"/>); predictions are clamped to at
    /// least <paramref name="minDepth"/> before the log.
    /// </summary>
    public static Tensor Compute(Tensor predicted, Tensor groundTruth, double lambda, double scale, double minDepth, double maxDepth)
    {
        var valid = ValidMask(groundTruth, minDepth, maxDepth);                            // [B, 1, H, W]
        var index = valid.reshape(-1).nonzero().squeeze(1);                                // [V]
        var p = predicted.reshape(-1).index_select(0, index).clamp_min(minDepth);          // [V]
        var g = groundTruth.reshape(-1).index_select(0, index);                            // [V]
        var d = p.log() - g.log();                                                         // [V]
        var count = (double)Math.Max(1, index.shape[0]);
        var variance = d.square().sum() / count - lambda * (d.sum() / count).square();
        // Clamped above 0: for lambda = 1 and a constant d the variance is exactly 0, where sqrt has
        // an infinite derivative; with no valid pixel everything is 0 and the loss is 0.
        return variance.clamp_min(1e-12).sqrt() * scale * (index.shape[0] > 0 ? 1 : 0);
    }

    /// <summary>Pixels of <paramref name="groundTruth"/> with a measurement strictly inside (<paramref name="minDepth"/>, <paramref name="maxDepth"/>).</summary>
    public static Tensor ValidMask(Tensor groundTruth, double minDepth, double maxDepth) =>
        groundTruth.gt(minDepth).logical_and(groundTruth.lt(maxDepth));
}
