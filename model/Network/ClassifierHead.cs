using GppfActors.Model.Backbone;
using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Network;

/// <summary>Global average pooling of the last stage plus a linear layer (the paper's classification head). Keys: fc.weight, fc.bias.</summary>
public sealed class ClassifierHead : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    private readonly Linear fc;

    /// <summary>A head over <paramref name="inChannels"/> last-stage channels for <paramref name="numClasses"/> classes.</summary>
    public ClassifierHead(long inChannels, long numClasses, Generator generator) : base(nameof(ClassifierHead))
    {
        fc = nn.Linear(inChannels, numClasses);
        Init.LinearDefault(fc.weight!, fc.bias, generator);
        RegisterComponents();
    }

    public override Tensor forward(IReadOnlyList<Tensor> features)
    {
        var last = features[^1];                                            // [B, C, H, W]
        var pooled = last.mean([2, 3]);                                     // [B, C]
        return fc.AutocastForward(pooled);                                  // [B, K]
    }
}
