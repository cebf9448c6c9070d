using GppfActors.Tasks.Definitions;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: B batch, K classes, H x W image.

/// <summary>
/// Mixup and cutmix over a batch, as timm's batch mode does them: with the mix probability the
/// batch is mixed; when both are enabled cutmix is chosen with the switch probability, else mixup;
/// sample i is mixed with sample B-1-i (the reversed batch) using one lambda ~ Beta(alpha, alpha);
/// cutmix pastes a box of area about (1 - lambda) H W and recomputes lambda from the box actually
/// pasted after clipping. Targets are label-smoothed before mixing. Every draw comes from the given generator.
/// </summary>
public static class MixupCutmix
{
    /// <summary>Mixes <paramref name="images"/> [B, 3, H, W] with hard <paramref name="labels"/> [B].</summary>
    public static MixResult Apply(Tensor images, Tensor labels, int numClasses, ClassificationOptions options, Generator generator)
    {
        var own = ClassificationLoss.SmoothedTargets(labels, numClasses, options.LabelSmoothing);  // [B, K]
        var (kind, lambda) = Draw(options, generator);
        if (kind == MixKind.None)
        {
            return new MixResult(images, own, 1.0, MixKind.None, null);
        }
        var partner = images.flip(0);                                                      // [B, 3, H, W]
        Tensor mixed;
        PixelBox? box = null;
        if (kind == MixKind.Mixup)
        {
            mixed = images * lambda + partner * (1 - lambda);                              // [B, 3, H, W]
        }
        else
        {
            int h = (int)images.shape[2], w = (int)images.shape[3];
            var (cut, corrected) = CutmixBox(h, w, lambda, generator);
            lambda = corrected;
            box = cut;
            mixed = images.clone();
            if (cut.Area > 0)
            {
                using var _ = no_grad();
                mixed.narrow(2, cut.Y1, cut.Y2 - cut.Y1).narrow(3, cut.X1, cut.X2 - cut.X1)
                    .copy_(partner.narrow(2, cut.Y1, cut.Y2 - cut.Y1).narrow(3, cut.X1, cut.X2 - cut.X1));
            }
        }
        var targets = own * lambda + own.flip(0) * (1 - lambda);                           // [B, K]
        return new MixResult(mixed, targets, lambda, kind, box);
    }

    /// <summary>
    /// timm's rand_bbox with lambda correction: a box of side (H, W) * sqrt(1 - lambda) centred at a
    /// uniform pixel, clipped to the image; returns it and 1 - its area / (H W).
    /// </summary>
    public static (PixelBox Box, double Lambda) CutmixBox(int height, int width, double lambda, Generator generator)
    {
        double ratio = Math.Sqrt(1 - lambda);
        int cutH = (int)(height * ratio), cutW = (int)(width * ratio);
        int cy = RandomDraws.Integer(generator, 0, height);
        int cx = RandomDraws.Integer(generator, 0, width);
        var box = new PixelBox(
            Math.Clamp(cy - cutH / 2, 0, height), Math.Clamp(cy + cutH / 2, 0, height),
            Math.Clamp(cx - cutW / 2, 0, width), Math.Clamp(cx + cutW / 2, 0, width));
        return (box, 1 - (double)box.Area / ((double)height * width));
    }

    private static (MixKind Kind, double Lambda) Draw(ClassificationOptions options, Generator generator)
    {
        bool mixup = options.MixupAlpha > 0, cutmix = options.CutmixAlpha > 0;
        if (!mixup && !cutmix)
        {
            return (MixKind.None, 1.0);
        }
        // Same draw order as timm: the kind, its lambda, then whether to mix at all.
        bool useCutmix = mixup && cutmix ? RandomDraws.Uniform(generator) < options.SwitchProbability : cutmix;
        double alpha = useCutmix ? options.CutmixAlpha : options.MixupAlpha;
        double lambda = RandomDraws.Beta(generator, alpha, alpha);
        if (RandomDraws.Uniform(generator) >= options.MixProbability)
        {
            return (MixKind.None, 1.0);
        }
        return (useCutmix ? MixKind.Cutmix : MixKind.Mixup, lambda);
    }
}
