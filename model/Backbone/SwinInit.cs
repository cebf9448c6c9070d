using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>Initialisation of Swin's layers as torchvision's SwinTransformer does it, drawn from an explicit generator.</summary>
internal static class SwinInit
{
    /// <summary>Linear layers: weight truncated normal with std 0.02, bias zero.</summary>
    public static void Linear(Linear layer, Generator generator)
    {
        Init.TruncatedNormal(layer.weight!, 0.02, generator);
        if (layer.bias is { } bias)
        {
            using var _ = no_grad();
            bias.zero_();
        }
    }
}
