using GppfActors.Tasks.Heads;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: B batch, N locations, G boxes of one image.

/// <summary>
/// FCOS target assignment: a location is positive for a ground-truth box when it lies strictly
/// inside the box and the box's largest ltrb distance from it falls in the location's level size
/// range; when several boxes qualify, the one of smallest area wins (ties: the first box).
/// </summary>
public static class FcosTargetAssigner
{
    /// <summary>Targets for every image of a batch; <paramref name="boxes"/> [n, 4] x1y1x2y2 pixels and <paramref name="labels"/> [n] int64 per image.</summary>
    public static FcosTargets Assign(FcosLayout layout, IReadOnlyList<Tensor> boxes, IReadOnlyList<Tensor> labels, Device device)
    {
        if (boxes.Count != labels.Count)
        {
            throw new ArgumentException($"{boxes.Count} box lists but {labels.Count} label lists");
        }
        var (points, ranges) = layout.Locations(device);                                   // [N, 2], [N, 2]
        var perImage = boxes.Select((b, i) => AssignImage(points, ranges, b.to(device).to_type(float32), labels[i].to(device))).ToArray();
        return new FcosTargets(
            stack(perImage.Select(t => t.Labels)),                                         // [B, N]
            stack(perImage.Select(t => t.Distances)),                                      // [B, N, 4]
            stack(perImage.Select(t => t.Centerness)),                                     // [B, N]
            points,
            stack(perImage.Select(t => t.BoxIndices)));                                    // [B, N]
    }

    private static (Tensor Labels, Tensor Distances, Tensor Centerness, Tensor BoxIndices) AssignImage(Tensor points, Tensor ranges, Tensor boxes, Tensor labels)
    {
        long n = points.shape[0], g = boxes.shape[0];
        if (g == 0)
        {
            var none = full([n], FcosTargets.Background, int64, points.device);
            return (none, zeros([n, 4], device: points.device), zeros([n], device: points.device), none.clone());
        }
        var x = points[.., 0].unsqueeze(1);                                                // [N, 1]
        var y = points[.., 1].unsqueeze(1);                                                // [N, 1]
        var ltrb = stack([
            x - boxes[.., 0].unsqueeze(0),                                                 // [N, G]
            y - boxes[.., 1].unsqueeze(0),
            boxes[.., 2].unsqueeze(0) - x,
            boxes[.., 3].unsqueeze(0) - y], 2);                                            // [N, G, 4]
        var inside = ltrb.amin(2).gt(0);                                                   // [N, G]
        var reach = ltrb.amax(2);                                                          // [N, G]
        var inRange = reach.ge(ranges[.., 0].unsqueeze(1)).logical_and(reach.le(ranges[.., 1].unsqueeze(1)));  // [N, G]
        var area = ((boxes[.., 2] - boxes[.., 0]) * (boxes[.., 3] - boxes[.., 1])).unsqueeze(0).expand(n, g);  // [N, G]
        var candidateArea = where(inside.logical_and(inRange), area, full_like(area, double.PositiveInfinity));  // [N, G]
        // min returns the first index among equal minima, so ties go to the lower box index.
        var (minArea, index) = candidateArea.min(1);                                       // [N], [N]
        var positive = minArea.isfinite();                                                 // [N]
        var assignedLabels = where(positive, labels.to_type(int64).index_select(0, index), full_like(index, FcosTargets.Background));  // [N]
        var distances = ltrb.gather(1, index.view(n, 1, 1).expand(n, 1, 4)).squeeze(1);   // [N, 4]
        var lr = distances.index_select(1, tensor(new long[] { 0, 2 }, device: points.device));  // [N, 2]
        var tb = distances.index_select(1, tensor(new long[] { 1, 3 }, device: points.device));  // [N, 2]
        var ratio = (lr.amin(1) / lr.amax(1).clamp_min(1e-6)) * (tb.amin(1) / tb.amax(1).clamp_min(1e-6));  // [N]
        var centerness = where(positive, ratio.clamp_min(0).sqrt(), zeros_like(ratio));   // [N]
        var boxIndices = where(positive, index, full_like(index, FcosTargets.Background));  // [N]
        return (assignedLabels, distances, centerness, boxIndices);
    }
}
