using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, C decoder channels, hi x wi stage i (0 finest, L last).

/// <summary>
/// A light UperNet decoder shared by the dense heads: pyramid pooling on the last stage, GroupNorm
/// laterals and a bilinear top-down pathway over all stages, then every level upsampled to the
/// finest stage and fused by a 3x3 conv. Returns [B, C, H0, W0] at the finest stage's size.
/// Owned by a segmentation or depth head. Keys: ppm.*, bottleneck.*, lateral.{i}.*, fpn.{i}.*, fuse.*.
/// </summary>
public sealed class UperDecoder : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    private readonly PyramidPooling? ppm;
    private readonly ConvNormAct bottleneck;
    private readonly ModuleList<ConvNormAct> lateral;
    private readonly ModuleList<ConvNormAct> fpn;
    private readonly ConvNormAct fuse;
    private readonly int numStages;

    /// <summary>A decoder over stages of <paramref name="stageChannels"/> to <paramref name="channels"/> channels; empty <paramref name="poolBins"/> leaves out pyramid pooling.</summary>
    public UperDecoder(IReadOnlyList<long> stageChannels, long channels, IReadOnlyList<int> poolBins, Generator generator) : base(nameof(UperDecoder))
    {
        numStages = stageChannels.Count;
        long last = stageChannels[^1];
        long bottleneckIn = last;
        if (poolBins.Count > 0)
        {
            ppm = new PyramidPooling(last, channels, poolBins, generator);
            bottleneckIn = ppm.OutputChannels(last, channels);
        }
        bottleneck = new ConvNormAct(bottleneckIn, channels, 3, generator);
        lateral = nn.ModuleList(stageChannels.Take(numStages - 1).Select(c => new ConvNormAct(c, channels, 1, generator)).ToArray());
        fpn = nn.ModuleList(stageChannels.Take(numStages - 1).Select(_ => new ConvNormAct(channels, channels, 3, generator)).ToArray());
        fuse = new ConvNormAct(numStages * channels, channels, 3, generator);
        RegisterComponents();
    }

    public override Tensor forward(IReadOnlyList<Tensor> features)
    {
        if (features.Count != numStages)
        {
            throw new ArgumentException($"the decoder was built for {numStages} stages but got {features.Count}", nameof(features));
        }
        var top = features[^1];
        var laterals = new Tensor[numStages];
        laterals[^1] = bottleneck.forward(ppm is null ? top : ppm.forward(top));          // [B, C, hL, wL]
        for (int i = numStages - 2; i >= 0; i--)
        {
            var x = lateral[i].forward(features[i]);                                        // [B, C, hi, wi]
            laterals[i] = x + Resize(laterals[i + 1], x);                                   // [B, C, hi, wi]
        }
        var outs = new Tensor[numStages];
        for (int i = 0; i < numStages; i++)
        {
            var y = i == numStages - 1 ? laterals[i] : fpn[i].forward(laterals[i]);       // [B, C, hi, wi]
            outs[i] = i == 0 ? y : Resize(y, laterals[0]);                                  // [B, C, h0, w0]
        }
        return fuse.forward(cat(outs, 1));                                                  // [B, C, h0, w0]
    }

    private static Tensor Resize(Tensor x, Tensor like) =>
        nn.functional.interpolate(x, size: [like.shape[2], like.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
}
