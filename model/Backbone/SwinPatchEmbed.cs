using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// Swin's patch embedding, [B, Cin, H, W] -> [B, ceil(H/p), ceil(W/p), C]: a p x p stride-p
/// convolution, channels last, LayerNorm; one unit of the first Swin lego layer. Keys (torchvision's
/// <c>features.0</c>): <c>0.*</c> (conv), <c>2.*</c> (norm); torchvision's permute at 1 holds no state.
/// </summary>
/// <remarks>
/// An input whose size is not a multiple of p is padded with zeros on the right and bottom first, as
/// Swin's detection and segmentation code does (mmdet's PatchEmbed); torchvision's classifier drops the
/// remainder instead. Both agree on multiples of p. With padding every stage of stride s = p * 2^k has
/// ceil(H / s) rows, the rule the task heads' geometry assumes.
/// </remarks>
public sealed class SwinPatchEmbed : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly LayerNorm norm;
    private readonly long patch;

    /// <summary>The patch embedding of <paramref name="config"/>, initialised from <paramref name="generator"/>.</summary>
    public SwinPatchEmbed(BackboneConfig config, Generator generator) : base(nameof(SwinPatchEmbed))
    {
        patch = config.PatchSize;
        conv = nn.Conv2d(config.InputChannels, config.EmbedDim, config.PatchSize, stride: config.PatchSize, bias: true);
        norm = nn.LayerNorm(config.EmbedDim, eps: 1e-5);
        Init.ConvDefault(conv.weight!, conv.bias, generator);
        // torchvision's indices inside its Sequential(conv, Permute, LayerNorm).
        register_module("0", conv);
        register_module("2", norm);
    }

    // The parent's registration would otherwise add the fields again under their own names.
    protected override void RegisterComponents()
    {
    }

    public override Tensor forward(Tensor input)
    {
        long h = input.shape[2], w = input.shape[3];
        long padBottom = (patch - h % patch) % patch, padRight = (patch - w % patch) % patch;
        var x = padBottom + padRight > 0 ? nn.functional.pad(input, [0, padRight, 0, padBottom]) : input; // [B, Cin, H', W']
        x = conv.AutocastForward(x).permute(0, 2, 3, 1);                    // [B, H'/p, W'/p, C]
        return norm.forward(x);
    }
}
