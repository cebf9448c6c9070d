using GppfActors.Model.Norm;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>Builds the units of a <see cref="BackboneConfig"/> in forward order, shared by the dynamic and the extracted static backbone.</summary>
/// <remarks>Also the one place that picks the classes of a <see cref="BackboneFamily"/>.</remarks>
internal static class BackboneFactory
{
    /// <summary>One entry per residual block: (stage index, block index in stage, input channels, width, stride).</summary>
    public static IEnumerable<(int Stage, int Block, long InChannels, long Width, long Stride)> Blocks(BackboneConfig config)
    {
        long inChannels = config.StemChannels;
        for (int s = 0; s < config.StageDepths.Count; s++)
        {
            for (int b = 0; b < config.StageDepths[s]; b++)
            {
                long stride = b == 0 && s > 0 ? 2 : 1;
                yield return (s, b, inChannels, config.StageWidths[s], stride);
                inChannels = (long)config.StageWidths[s] * config.Expansion;
            }
        }
    }

    public static nn.Module<Tensor, Tensor> Block(BackboneConfig config, long inChannels, long width, long stride, NormSync sync, Generator generator) =>
        config.Block == BlockKind.Bottleneck
            ? new Bottleneck(inChannels, width, stride, sync, generator)
            : new BasicBlock(inChannels, width, stride, sync, generator);

    /// <summary>The dynamic backbone of <paramref name="config"/>'s family.</summary>
    public static RoutedBackbone Dynamic(BackboneConfig config, NormSync sync, Generator generator) =>
        config.Family == BackboneFamily.Swin ? new DynamicSwin(config, generator) : new DynamicBackbone(config, sync, generator);

    /// <summary>A static (one unit per layer) backbone of <paramref name="config"/>'s family.</summary>
    public static StaticBackbone Static(BackboneConfig config, Generator generator) =>
        config.Family == BackboneFamily.Swin ? new StaticSwin(config, generator) : new StaticResNet(config, new NormSync(), generator);

    /// <summary>One entry per Swin block: (stage index, block index in stage, channels, heads, shift); odd blocks of a stage shift by half a window.</summary>
    public static IEnumerable<(int Stage, int Block, long Dim, long Heads, long Shift)> SwinBlocks(BackboneConfig config)
    {
        for (int s = 0; s < config.StageDepths.Count; s++)
        {
            for (int b = 0; b < config.StageDepths[s]; b++)
            {
                yield return (s, b, (long)config.EmbedDim << s, config.NumHeads[s], b % 2 == 0 ? 0 : config.WindowSize / 2);
            }
        }
    }

    public static SwinBlock SwinBlock(BackboneConfig config, long dim, long heads, long shift, Generator generator) =>
        new(dim, heads, config.WindowSize, shift, config.MlpRatio, generator);

    /// <summary>Swin's stage output norms: mmdet's <c>norm{s}</c>, except the last stage's, which is torchvision's final <c>norm</c>.</summary>
    public static string SwinStageNormName(int stage, int numStages) => stage == numStages - 1 ? "norm" : $"norm{stage}";
}
