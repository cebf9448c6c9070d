using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

/// <summary>
/// CondInst's dice loss per instance: 1 - 2 sum(p t) / (sum(p^2) + sum(t^2) + eps) with p the mask
/// probabilities and t the (soft) targets over the instance's pixels; it weighs an instance by its
/// overlap rather than its pixel count, so small instances are not swamped by background pixels.
/// </summary>
public static class DiceLoss
{
    private const double Epsilon = 1e-5;

    /// <summary>Per-instance loss [n] of <paramref name="logits"/> against <paramref name="targets"/>, both [n, h, w].</summary>
    public static Tensor PerInstance(Tensor logits, Tensor targets)
    {
        var p = logits.sigmoid().flatten(1);                                               // [n, h*w]
        var t = targets.flatten(1);                                                        // [n, h*w]
        var intersection = (p * t).sum(1);                                                 // [n]
        var union = (p * p).sum(1) + (t * t).sum(1) + Epsilon;                             // [n]
        return 1 - 2 * intersection / union;                                               // [n]
    }
}
