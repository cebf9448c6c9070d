using GppfActors.Model.Backbone;
using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, Cout output channels, H x W map.

/// <summary>Convolution (no bias, same padding) + GroupNorm + ReLU, the building block of every head tower. Keys: conv.weight, gn.weight, gn.bias.</summary>
public sealed class ConvNormAct : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly GroupNorm gn;

    /// <summary>A <paramref name="kernelSize"/> x <paramref name="kernelSize"/> block from <paramref name="inChannels"/> to <paramref name="outChannels"/>.</summary>
    public ConvNormAct(long inChannels, long outChannels, int kernelSize, Generator generator) : base(nameof(ConvNormAct))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, padding: kernelSize / 2, bias: false);
        gn = GroupNorms.Create(outChannels);
        Init.KaimingNormalFanOut(conv.weight!, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) =>
        nn.functional.relu(gn.forward(conv.AutocastForward(input)));        // [B, Cout, H, W]
}
