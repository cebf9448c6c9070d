using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, Cin input channels, C branch channels, b bin size, h x w the last stage.

/// <summary>
/// UperNet's pyramid pooling module on the last stage: average-pools to a few bin sizes, projects,
/// upsamples back and concatenates with the input, giving the decoder image-level context. Owned by
/// <see cref="UperDecoder"/>. Keys: branches.{i}.weight/bias.
/// </summary>
/// <remarks>
/// The pooled branches use a biased conv + ReLU rather than conv + GroupNorm: a 1x1 pooled map gives
/// each group only a few numbers, which GroupNorm would flatten to +-1 and erase their magnitudes.
/// </remarks>
public sealed class PyramidPooling : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Conv2d> branches;
    private readonly int[] bins;

    /// <summary>One branch of <paramref name="channels"/> channels per entry of <paramref name="bins"/>.</summary>
    public PyramidPooling(long inChannels, long channels, IReadOnlyList<int> bins, Generator generator) : base(nameof(PyramidPooling))
    {
        this.bins = bins.ToArray();
        branches = nn.ModuleList(this.bins.Select(_ => nn.Conv2d(inChannels, channels, 1)).ToArray());
        foreach (var conv in branches)
        {
            HeadInit.FanIn(conv.weight!, conv.bias, generator);
        }
        RegisterComponents();
    }

    /// <summary>Channels of the output: the input's plus one block per bin.</summary>
    public long OutputChannels(long inChannels, long channels) => inChannels + bins.Length * channels;

    public override Tensor forward(Tensor input)
    {
        long h = input.shape[2], w = input.shape[3];
        var parts = new List<Tensor> { input };
        for (int i = 0; i < bins.Length; i++)
        {
            var pooled = nn.functional.adaptive_avg_pool2d(input, [bins[i], bins[i]]);      // [B, Cin, b, b]
            var projected = nn.functional.relu(branches[i].AutocastForward(pooled));        // [B, C, b, b]
            parts.Add(nn.functional.interpolate(projected, size: [h, w], mode: InterpolationMode.Bilinear, align_corners: false));  // [B, C, h, w]
        }
        return cat(parts, 1);                                                               // [B, Cin + n*C, h, w]
    }
}
