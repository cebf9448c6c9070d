using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Heads;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: B batch, N detection locations, P dynamic parameters, Cm mask channels, h0 x w0 the mask grid,
// n positives kept in one image, G boxes of one image, U of them assigned to a kept positive.

/// <summary>
/// The mask loss of instance segmentation: every positive detection location (FCOS assignment; at
/// most the options' maximum per image, those of highest centerness target first) predicts the mask
/// of the box it was assigned to with its dynamic head; dice loss against the box's mask brought to
/// the logits' resolution, averaged over the batch's kept positives.
/// </summary>
public static class InstanceMaskLoss
{
    /// <summary>
    /// Loss of <paramref name="parameters"/> [B, N, P] and <paramref name="features"/> [B, Cm, h0, w0] against the
    /// per-image <paramref name="masks"/> (G cropped masks in input pixels) under the assignment <paramref name="targets"/>; also the number of
    /// instances trained. With no positive it is a zero that still depends on the parameters.
    /// </summary>
    public static (Tensor Loss, int NumInstances) Compute(InstanceMaskLayout layout, Tensor parameters, Tensor features,
        IReadOnlyList<IReadOnlyList<CroppedMask>> masks, FcosTargets targets)
    {
        var device = parameters.device;
        var scales = layout.CoordinateScales(device);                                      // [N]
        var level = layout.MaskLevel;
        var losses = new List<Tensor>();
        for (int b = 0; b < masks.Count; b++)
        {
            var positive = targets.Labels[b].ne(FcosTargets.Background).nonzero().squeeze(1);  // [n]
            if (positive.shape[0] == 0)
            {
                continue;
            }
            if (positive.shape[0] > layout.Options.MaxInstancesPerImage)
            {
                var (_, top) = targets.Centerness[b].index_select(0, positive).topk(layout.Options.MaxInstancesPerImage);
                positive = positive.index_select(0, top);
            }
            var logits = DynamicMaskHead.Logits(layout, parameters[b].index_select(0, positive), features[b],
                targets.Points.index_select(0, positive), scales.index_select(0, positive));  // [n, h0*f, w0*f]
            // The batch's masks are cropped host objects: here, and only for the boxes with a kept positive, they are
            // expanded to the logits' resolution on the host and moved to the predictions' device (an image of LVIS can
            // hold hundreds of instances; at input size they would be the step's largest tensors).
            var (used, inverse, _) = targets.BoxIndices[b].index_select(0, positive).unique(sorted: true, return_inverse: true);  // [U], [n]
            var usedMasks = used.cpu().data<long>().ToArray().Select(i => masks[b][checked((int)i)]).ToArray();  // U crops
            var imageTargets = MaskTargets.Expand(usedMasks, level.Height * level.Stride, level.Width * level.Stride, layout.LogitStride)
                .to(device);                                                                // [U, h0*f, w0*f]
            var assigned = imageTargets.index_select(0, inverse!);                          // [n, h0*f, w0*f]
            losses.Add(DiceLoss.PerInstance(logits.to_type(float32), assigned));
        }
        if (losses.Count == 0)
        {
            return (parameters.sum() * 0 + features.sum() * 0, 0);
        }
        var all = cat(losses.ToArray(), 0);                                                // [sum n]
        return (all.mean(), (int)all.shape[0]);
    }
}
