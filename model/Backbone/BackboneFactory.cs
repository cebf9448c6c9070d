using GppfActors.Model.Norm;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>Builds the units of a <see cref="BackboneConfig"/> in forward order, shared by the dynamic and the extracted static backbone.</summary>
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
}
