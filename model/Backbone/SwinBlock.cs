using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// One Swin Transformer block on [B, H, W, C]: x + attn(norm1(x)), then x + mlp(norm2(x)); one unit of
/// a Swin lego layer. Keys (torchvision's): <c>norm1.*</c>, <c>attn.*</c>, <c>norm2.*</c>,
/// <c>mlp.0.*</c>, <c>mlp.3.*</c> (GELU at 1 and torchvision's dropout slot at 2 hold no state).
/// </summary>
/// <remarks>
/// No stochastic depth: torchvision's swin_t drops blocks with probability up to 0.2, but a random
/// drop would need per-sample noise reproducible from (seed, step, rank, layer) on every device; the
/// paper does not name it among its settings, so blocks always run.
/// </remarks>
public sealed class SwinBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly ShiftedWindowAttention attn;
    private readonly LayerNorm norm2;
    private readonly SwinMlp mlp;

    /// <summary>A block of <paramref name="dim"/> channels; <paramref name="shiftSize"/> 0 gives W-MSA, half the window SW-MSA.</summary>
    public SwinBlock(long dim, long numHeads, long windowSize, long shiftSize, double mlpRatio, Generator generator) : base(nameof(SwinBlock))
    {
        long hidden = (long)(dim * mlpRatio);
        norm1 = nn.LayerNorm(dim, eps: 1e-5);
        attn = new ShiftedWindowAttention(dim, numHeads, windowSize, shiftSize, generator);
        norm2 = nn.LayerNorm(dim, eps: 1e-5);
        mlp = new SwinMlp(dim, hidden, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var x = input + attn.forward(norm1.forward(input));                 // [B, H, W, C]
        return x + mlp.forward(norm2.forward(x));                           // [B, H, W, C]
    }
}
