using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, C pyramid channels, Hi x Wi level i.

/// <summary>
/// A small feature pyramid (FPN) over the last few backbone stages: 1x1 laterals to a common width,
/// a nearest-neighbour top-down pathway, and a 3x3 output conv per level. Owned by the detection
/// head. Keys: lateral.{i}.*, output.{i}.*.
/// </summary>
public sealed class FeaturePyramid : nn.Module<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>>
{
    private readonly ModuleList<Conv2d> lateral;
    private readonly ModuleList<Conv2d> output;

    /// <summary>One level per entry of <paramref name="inChannels"/> (finest first), each of <paramref name="channels"/> channels.</summary>
    public FeaturePyramid(IReadOnlyList<long> inChannels, long channels, Generator generator) : base(nameof(FeaturePyramid))
    {
        lateral = nn.ModuleList(inChannels.Select(c => nn.Conv2d(c, channels, 1)).ToArray());
        output = nn.ModuleList(inChannels.Select(_ => nn.Conv2d(channels, channels, 3, padding: 1)).ToArray());
        foreach (var conv in lateral.Concat(output))
        {
            HeadInit.FanIn(conv.weight!, conv.bias, generator);
        }
        RegisterComponents();
    }

    /// <summary>Number of levels.</summary>
    public int NumLevels => lateral.Count;

    /// <summary>Takes the stage features the pyramid is built on (finest first) and returns one map per level, finest first.</summary>
    public override IReadOnlyList<Tensor> forward(IReadOnlyList<Tensor> features)
    {
        if (features.Count != NumLevels)
        {
            throw new ArgumentException($"the pyramid has {NumLevels} levels but got {features.Count} feature maps", nameof(features));
        }
        var result = new Tensor[NumLevels];
        Tensor? above = null;
        for (int i = NumLevels - 1; i >= 0; i--)
        {
            var x = lateral[i].AutocastForward(features[i]);                // [B, C, Hi, Wi]
            if (above is not null)
            {
                // Sizes are ceil(H / stride), so the coarser map is upsampled to this size, not by 2.
                x = x + nn.functional.interpolate(above, size: [x.shape[2], x.shape[3]], mode: InterpolationMode.Nearest);
            }
            above = x;
            result[i] = output[i].AutocastForward(x);                       // [B, C, Hi, Wi]
        }
        return result;
    }
}
