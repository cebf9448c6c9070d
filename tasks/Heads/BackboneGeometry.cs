using GppfActors.Model.Backbone;
using GppfActors.Tasks.Definitions;

namespace GppfActors.Tasks.Heads;

/// <summary>
/// Where the backbone's stage outputs sit relative to the input: their strides and sizes. Heads
/// need this because they see only feature maps, yet dense heads must return input-sized maps and
/// the detection head regresses distances in input pixels.
/// </summary>
/// <remarks>
/// Every down-sampling layer of the backbone (stem conv with padding k/2, 3x3 max pool with
/// padding 1, 3x3 and 1x1 stride-2 block convs; Swin's patch embedding, which pads to a multiple of
/// the patch, and its patch merging, which pads odd sizes) maps a size n to ceil(n / s), and repeated
/// ceilings compose: a stage of stride S has ceil(H / S) x ceil(W / S) positions.
/// </remarks>
public static class BackboneGeometry
{
    /// <summary>Output stride of each stage (C2..C5 of a ResNet-50, and Swin-T's four stages: 4, 8, 16, 32).</summary>
    public static IReadOnlyList<int> StageStrides(BackboneConfig config)
    {
        int first = config.Family == BackboneFamily.Swin ? config.PatchSize : config.StemStride * (config.StemMaxPool ? 2 : 1);
        return Enumerable.Range(0, config.StageDepths.Count).Select(s => first << s).ToArray();
    }

    /// <summary>The size of a feature map of stride <paramref name="stride"/> for an input of size <paramref name="input"/>.</summary>
    public static InputSize FeatureSize(InputSize input, int stride) =>
        new((input.Height + stride - 1) / stride, (input.Width + stride - 1) / stride);
}
