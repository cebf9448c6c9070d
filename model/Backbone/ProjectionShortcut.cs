using GppfActors.Model.Norm;
using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// The shortcut of a residual block that changes shape: a strided 1x1 convolution and its SyncBN,
/// registered as <c>0</c> and <c>1</c> so the keys are torchvision's <c>downsample.0.weight</c> and
/// <c>downsample.1.*</c>. Not a <c>Sequential</c> because its convolution follows the thread's
/// compute precision (<see cref="Autocast"/>), which a Sequential's plain forward would not.
/// Owned by a <see cref="Bottleneck"/> or <see cref="BasicBlock"/>.
/// </summary>
public sealed class ProjectionShortcut : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly SyncBatchNorm2d norm;

    /// <summary>A projection from <paramref name="inChannels"/> to <paramref name="outChannels"/> with <paramref name="stride"/>, He-initialised from <paramref name="generator"/>.</summary>
    public ProjectionShortcut(long inChannels, long outChannels, long stride, NormSync sync, Generator generator) : base(nameof(ProjectionShortcut))
    {
        conv = nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false);
        Init.KaimingNormalFanOut(conv.weight!, generator);
        norm = new SyncBatchNorm2d("1", outChannels, sync);
        // Registered by hand: the keys are positions, as in torchvision's Sequential.
        register_module("0", conv);
        register_module("1", norm);
    }

    // The children are registered by position in the constructor; the default registration would add
    // them again under their field names (a parent's RegisterComponents calls this one's).
    protected override void RegisterComponents()
    {
    }

    public override Tensor forward(Tensor input) => norm.forward(conv.AutocastForward(input));   // [B, Cout, H/s, W/s]
}
