using GppfActors.Model.Norm;
using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>ResNet stem (conv, BN, ReLU, optional max pool); one unit of the first lego layer. Keys: conv1.*, bn1.*.</summary>
public sealed class Stem : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly SyncBatchNorm2d bn1;
    private readonly bool maxPool;

    /// <summary>Builds the stem of <paramref name="config"/>, initialised from <paramref name="generator"/>.</summary>
    public Stem(BackboneConfig config, NormSync sync, Generator generator) : base(nameof(Stem))
    {
        int k = config.StemKernelSize;
        conv1 = nn.Conv2d(config.InputChannels, config.StemChannels, k, stride: config.StemStride, padding: k / 2, bias: false);
        bn1 = new SyncBatchNorm2d("bn1", config.StemChannels, sync);
        maxPool = config.StemMaxPool;
        Init.KaimingNormalFanOut(conv1.weight!, generator);
        RegisterComponents();
    }

    /// <summary>The stem convolution (exposed so an extracted static network can register it under torchvision's top-level name).</summary>
    internal Conv2d Conv1 => conv1;

    /// <summary>The stem BN (see <see cref="Conv1"/>).</summary>
    internal SyncBatchNorm2d Bn1 => bn1;

    public override Tensor forward(Tensor input)
    {
        var x = nn.functional.relu(bn1.forward(conv1.AutocastForward(input))); // [B, C, H/s, W/s]
        return maxPool ? nn.functional.max_pool2d(x, 3, 2, 1) : x;           // [B, C, H/2s, W/2s]
    }
}
