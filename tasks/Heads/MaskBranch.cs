using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, C pyramid channels, Cb branch channels, Cm mask channels, h0 x w0 the finest level.

/// <summary>
/// CondInst's mask branch: each pyramid level refined by a 3x3 conv (GroupNorm, ReLU) to the branch
/// width, upsampled to the finest level and summed, a tower of 3x3 convs, and a 1x1 conv to the few
/// mask-feature channels the dynamic mask head reads. Owned by <see cref="CondInstHead"/>.
/// Keys: refine.{i}.*, tower.{i}.*, out.*.
/// </summary>
public sealed class MaskBranch : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    private readonly ModuleList<ConvNormAct> refine;
    private readonly ModuleList<ConvNormAct> tower;
    private readonly Conv2d @out;

    /// <summary>A branch over <paramref name="numLevels"/> levels of <paramref name="channels"/> channels.</summary>
    public MaskBranch(int numLevels, long channels, long branchChannels, int numConvs, long maskChannels, Generator generator) : base(nameof(MaskBranch))
    {
        refine = nn.ModuleList(Enumerable.Range(0, numLevels).Select(_ => new ConvNormAct(channels, branchChannels, 3, generator)).ToArray());
        tower = nn.ModuleList(Enumerable.Range(0, numConvs).Select(_ => new ConvNormAct(branchChannels, branchChannels, 3, generator)).ToArray());
        @out = nn.Conv2d(branchChannels, maskChannels, 1);
        HeadInit.FanIn(@out.weight!, @out.bias, generator);
        RegisterComponents();
    }

    /// <summary>Takes the pyramid levels (finest first) and returns the mask features [B, Cm, h0, w0] on the finest level's grid.</summary>
    public override Tensor forward(IReadOnlyList<Tensor> levels)
    {
        var x = refine[0].forward(levels[0]);                               // [B, Cb, h0, w0]
        for (int i = 1; i < levels.Count; i++)
        {
            var y = refine[i].forward(levels[i]);                           // [B, Cb, hi, wi]
            x = x + nn.functional.interpolate(y, size: [x.shape[2], x.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
        }
        foreach (var conv in tower)
        {
            x = conv.forward(x);                                            // [B, Cb, h0, w0]
        }
        return @out.AutocastForward(x);                                     // [B, Cm, h0, w0]
    }
}
