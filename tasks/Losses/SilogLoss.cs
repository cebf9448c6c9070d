using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: B batch, H x W image, V valid pixels of the batch.

/// <summary>
/// Scale-invariant log loss (Eigen et al. 2014) as BTS uses it: with d = log(pred) - log(gt) over
/// valid pixels (gt &gt; 0) of the whole batch, scale * sqrt(mean(d^2) - lambda * mean(d)^2).
/// </summary>
public static class SilogLoss
{
    /// <summary>The loss of predicted depth against ground truth, both [B, 1, H, W] metres; predictions are clamped to at least <paramref name="minDepth"/> before the log.</summary>
    public static Tensor Compute(Tensor predicted, Tensor groundTruth, double lambda, double scale, double minDepth)
    {
        var valid = groundTruth.gt(0);                                                     // [B, 1, H, W]
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
}
