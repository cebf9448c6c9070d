using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// Swin's down-sampling between stages, [B, H, W, C] -> [B, ceil(H/2), ceil(W/2), 2C]: each 2 x 2
/// neighbourhood's tokens are concatenated, normalised and projected. Shared by all units (not a lego
/// layer). Keys (torchvision's): <c>reduction.weight</c>, <c>norm.*</c>. An odd size is padded with
/// zeros on the bottom or right first, as torchvision does.
/// </summary>
public sealed class PatchMerging : nn.Module<Tensor, Tensor>
{
    private readonly Linear reduction;
    private readonly LayerNorm norm;

    /// <summary>Merges tokens of <paramref name="dim"/> channels into tokens of 2 * dim.</summary>
    public PatchMerging(long dim, Generator generator) : base(nameof(PatchMerging))
    {
        reduction = nn.Linear(4 * dim, 2 * dim, hasBias: false);
        norm = nn.LayerNorm(4 * dim, eps: 1e-5);
        SwinInit.Linear(reduction, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        long h = input.shape[1], w = input.shape[2];
        var x = h % 2 + w % 2 > 0 ? nn.functional.pad(input, [0, 0, 0, w % 2, 0, h % 2]) : input; // [B, H', W', C], H' W' even
        long ph = x.shape[1], pw = x.shape[2];
        // torchvision's order: (even row, even col), (odd row, even col), (even row, odd col), (odd, odd).
        var x0 = x.slice(1, 0, ph, 2).slice(2, 0, pw, 2);                   // [B, H'/2, W'/2, C]
        var x1 = x.slice(1, 1, ph, 2).slice(2, 0, pw, 2);
        var x2 = x.slice(1, 0, ph, 2).slice(2, 1, pw, 2);
        var x3 = x.slice(1, 1, ph, 2).slice(2, 1, pw, 2);
        var merged = cat([x0, x1, x2, x3], -1);                             // [B, H'/2, W'/2, 4C]
        return reduction.AutocastForward(norm.forward(merged));             // [B, H'/2, W'/2, 2C]
    }
}
