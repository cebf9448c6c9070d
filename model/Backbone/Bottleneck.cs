using GppfActors.Model.Norm;
using GppfActors.Model.Precision;
using GppfActors.Model.Tensors;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>ResNet v1.5 bottleneck (1x1, 3x3 with the stride, 1x1 x4); one unit of a lego layer. Keys follow torchvision.</summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    /// <summary>Output channels are width x Expansion.</summary>
    public const int Expansion = 4;

    private readonly Conv2d conv1;
    private readonly SyncBatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly SyncBatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly SyncBatchNorm2d bn3;
    private readonly ProjectionShortcut? downsample;

    /// <summary>A block from <paramref name="inChannels"/> to width x 4 channels with the given stride.</summary>
    public Bottleneck(long inChannels, long width, long stride, NormSync sync, Generator generator) : base(nameof(Bottleneck))
    {
        long outChannels = width * Expansion;
        conv1 = nn.Conv2d(inChannels, width, 1, bias: false);
        bn1 = new SyncBatchNorm2d("bn1", width, sync);
        conv2 = nn.Conv2d(width, width, 3, stride: stride, padding: 1, bias: false);
        bn2 = new SyncBatchNorm2d("bn2", width, sync);
        conv3 = nn.Conv2d(width, outChannels, 1, bias: false);
        bn3 = new SyncBatchNorm2d("bn3", outChannels, sync);
        Init.KaimingNormalFanOut(conv1.weight!, generator);
        Init.KaimingNormalFanOut(conv2.weight!, generator);
        Init.KaimingNormalFanOut(conv3.weight!, generator);
        if (stride != 1 || inChannels != outChannels)
        {
            downsample = new ProjectionShortcut(inChannels, outChannels, stride, sync, generator);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var x = nn.functional.relu(bn1.forward(conv1.AutocastForward(input))); // [B, W, H, W]
        x = nn.functional.relu(bn2.forward(conv2.AutocastForward(x)));      // [B, W, H/s, W/s]
        x = bn3.forward(conv3.AutocastForward(x));                          // [B, 4W, H/s, W/s]
        var identity = downsample is null ? input : downsample.forward(input);
        return nn.functional.relu(x.add(identity, Scalars.One));   // not x + identity: see Scalars
    }
}
