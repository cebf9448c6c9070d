using GppfActors.Model.Norm;
using GppfActors.Model.Precision;
using GppfActors.Model.Tensors;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>ResNet basic block (3x3, 3x3, identity or 1x1 projection); one unit of a lego layer. Keys follow torchvision.</summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly SyncBatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly SyncBatchNorm2d bn2;
    private readonly ProjectionShortcut? downsample;

    /// <summary>A block from <paramref name="inChannels"/> to <paramref name="width"/> channels with the given stride.</summary>
    public BasicBlock(long inChannels, long width, long stride, NormSync sync, Generator generator) : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inChannels, width, 3, stride: stride, padding: 1, bias: false);
        bn1 = new SyncBatchNorm2d("bn1", width, sync);
        conv2 = nn.Conv2d(width, width, 3, padding: 1, bias: false);
        bn2 = new SyncBatchNorm2d("bn2", width, sync);
        Init.KaimingNormalFanOut(conv1.weight!, generator);
        Init.KaimingNormalFanOut(conv2.weight!, generator);
        if (stride != 1 || inChannels != width)
        {
            downsample = new ProjectionShortcut(inChannels, width, stride, sync, generator);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var x = nn.functional.relu(bn1.forward(conv1.AutocastForward(input))); // [B, W, H/s, W/s]
        x = bn2.forward(conv2.AutocastForward(x));                          // [B, W, H/s, W/s]
        var identity = downsample is null ? input : downsample.forward(input);
        return nn.functional.relu(x.add(identity, Scalars.One));   // not x + identity: see Scalars
    }
}
