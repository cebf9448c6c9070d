using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: G instances of one image, H x W the input, r the logit stride, Hp x Wp = the mask grid x its stride.

/// <summary>Instance masks brought to the resolution of the mask logits.</summary>
public static class MaskTargets
{
    /// <summary>
    /// <paramref name="masks"/> [G, H, W] (1 inside) padded with zeros (or cropped) to <paramref name="paddedHeight"/> x
    /// <paramref name="paddedWidth"/>, the mask grid's extent in input pixels, then averaged over
    /// <paramref name="stride"/> x <paramref name="stride"/> blocks: the share of each logit pixel's input pixels that
    /// lie inside, [G, Hp / r, Wp / r] float32.
    /// </summary>
    public static Tensor Downsample(Tensor masks, int paddedHeight, int paddedWidth, int stride)
    {
        long h = masks.shape[1], w = masks.shape[2];
        var x = masks.to_type(float32);                                                    // [G, H, W]
        x = x[.., ..(int)Math.Min(h, paddedHeight), ..(int)Math.Min(w, paddedWidth)];
        x = nn.functional.pad(x, [0, paddedWidth - x.shape[2], 0, paddedHeight - x.shape[1]]);  // [G, Hp, Wp]
        if (stride == 1)
        {
            return x;
        }
        return nn.functional.avg_pool2d(x.unsqueeze(1), stride, stride).squeeze(1);       // [G, Hp/r, Wp/r]
    }
}
