using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

/// <summary>Sigmoid focal loss (Lin et al. 2017): down-weights easy examples so the many background locations do not dominate.</summary>
public static class FocalLoss
{
    /// <summary>
    /// Sum over all elements of alpha_t (1 - p_t)^gamma BCE(x, t), with p_t = p t + (1 - p)(1 - t) and
    /// alpha_t = alpha t + (1 - alpha)(1 - t); <paramref name="logits"/> and <paramref name="targets"/> have the same shape.
    /// </summary>
    public static Tensor SigmoidSum(Tensor logits, Tensor targets, double alpha, double gamma)
    {
        var p = logits.sigmoid();
        var ce = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction: nn.Reduction.None);
        var pT = p * targets + (1 - p) * (1 - targets);
        var alphaT = targets * alpha + (1 - targets) * (1 - alpha);
        return (alphaT * (1 - pT).pow(gamma) * ce).sum();
    }
}
