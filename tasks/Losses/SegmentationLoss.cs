using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Heads;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: B batch, K classes, H x W mask, H' x W' head output.

/// <summary>Per-pixel cross-entropy for semantic segmentation, averaged over labelled pixels only (label 255 = ignore).</summary>
public static class SegmentationLoss
{
    /// <summary>Mean cross-entropy of logits [B, K, H', W'] (cropped to the mask) against masks [B, H, W] int64 over pixels whose label is not 255; 0 when none is labelled.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor masks)
    {
        var cropped = DenseUpsample.CropTo(logits, masks.shape[1], masks.shape[2]);       // [B, K, H, W]
        // Sum / count rather than the mean reduction: an all-ignored batch must give 0, not 0/0.
        var sum = nn.functional.cross_entropy(cropped, masks, ignore_index: SegmentationOptions.IgnoreIndex, reduction: nn.Reduction.Sum);
        var count = masks.ne(SegmentationOptions.IgnoreIndex).sum().to_type(float32).clamp_min(1);
        return sum / count;
    }
}
