using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: n paired boxes.

/// <summary>Generalized IoU (Rezatofighi et al. 2019) of paired boxes, and the loss 1 - GIoU.</summary>
public static class GiouLoss
{
    private const double Eps = 1e-7;

    /// <summary>GIoU of paired boxes [n, 4] x1y1x2y2: IoU - (hull - union) / hull; in (-1, 1].</summary>
    public static Tensor Giou(Tensor predicted, Tensor target)
    {
        var (px1, py1, px2, py2) = Sides(predicted);
        var (tx1, ty1, tx2, ty2) = Sides(target);
        var predictedArea = (px2 - px1).clamp_min(0) * (py2 - py1).clamp_min(0);          // [n]
        var targetArea = (tx2 - tx1).clamp_min(0) * (ty2 - ty1).clamp_min(0);             // [n]
        var inter = (minimum(px2, tx2) - maximum(px1, tx1)).clamp_min(0)
                  * (minimum(py2, ty2) - maximum(py1, ty1)).clamp_min(0);                  // [n]
        var union = predictedArea + targetArea - inter;                                    // [n]
        var hull = (maximum(px2, tx2) - minimum(px1, tx1)) * (maximum(py2, ty2) - minimum(py1, ty1));  // [n]
        return inter / (union + Eps) - (hull - union) / (hull + Eps);
    }

    /// <summary>1 - GIoU per pair, [n].</summary>
    public static Tensor Loss(Tensor predicted, Tensor target) => 1 - Giou(predicted, target);

    /// <summary>Boxes x1y1x2y2 [n, 4] from locations [n, 2] (x, y) and distances [n, 4] (l, t, r, b).</summary>
    public static Tensor BoxesFromDistances(Tensor points, Tensor distances) =>
        cat([points - distances[.., ..2], points + distances[.., 2..]], 1);                 // [n, 4]

    private static (Tensor, Tensor, Tensor, Tensor) Sides(Tensor boxes) =>
        (boxes[.., 0], boxes[.., 1], boxes[.., 2], boxes[.., 3]);
}
