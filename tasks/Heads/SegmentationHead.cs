using GppfActors.Model.Precision;
using GppfActors.Tasks.Definitions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, K classes, h0 x w0 finest stage, s its stride.

/// <summary>
/// Semantic segmentation head (UperNet-lite): the shared decoder, a 1x1 classifier, and a bilinear
/// upsample by the finest stage's stride to input size. Output [B, K, H, W] logits (exactly the
/// input size when it is a multiple of the finest stride, at most stride - 1 rows/columns more
/// otherwise, which the loss and evaluator crop). Owned by the network as the task's head.
/// Keys: decoder.*, classifier.*.
/// </summary>
public sealed class SegmentationHead : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    private readonly UperDecoder decoder;
    private readonly Conv2d classifier;
    private readonly int finestStride;

    /// <summary>A head over stages of <paramref name="stageChannels"/>, the first at stride <paramref name="finestStride"/>.</summary>
    public SegmentationHead(IReadOnlyList<long> stageChannels, int finestStride, int numClasses, SegmentationOptions options, Generator generator)
        : base(nameof(SegmentationHead))
    {
        decoder = new UperDecoder(stageChannels, options.HeadChannels, options.Bins, generator);
        classifier = nn.Conv2d(options.HeadChannels, numClasses, 1);
        HeadInit.Normal(classifier.weight!, classifier.bias, 0.01, generator);
        this.finestStride = finestStride;
        RegisterComponents();
    }

    public override Tensor forward(IReadOnlyList<Tensor> features)
    {
        var logits = classifier.AutocastForward(decoder.forward(features));                 // [B, K, h0, w0]
        return DenseUpsample.ByStride(logits, finestStride);                                // [B, K, h0*s, w0*s]
    }
}
