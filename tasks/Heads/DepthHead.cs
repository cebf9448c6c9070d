using GppfActors.Model.Precision;
using GppfActors.Tasks.Definitions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, h0 x w0 finest stage, H x W input.

/// <summary>
/// Dense depth regression head: the shared decoder (without pyramid pooling), a 3x3 refinement
/// block and a 3x3 output conv, upsampled bilinearly to input size; depth = exp(x), positive and
/// unbounded, so the gradient never vanishes at a cap (sigmoid(x) * max depth, BTS's form, saturated and
/// stopped learning when many ground-truth depths lay beyond the cap). The output bias starts at
/// ln(max depth / 2), mid-range. Output [B, 1, H, W] metres (size as for <see cref="SegmentationHead"/>).
/// Owned by the network as the task's head. Keys: decoder.*, refine.*, predict.*.
/// </summary>
/// <remarks>
/// Checkpoints of the sigmoid head load (the keys are the same) but predict wrong depths: their output
/// conv was trained for the other parameterisation.
/// </remarks>
public sealed class DepthHead : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    private readonly UperDecoder decoder;
    private readonly ConvNormAct refine;
    private readonly Conv2d predict;
    private readonly int finestStride;

    /// <summary>A head over stages of <paramref name="stageChannels"/>, the first at stride <paramref name="finestStride"/>.</summary>
    public DepthHead(IReadOnlyList<long> stageChannels, int finestStride, DepthOptions options, Generator generator) : base(nameof(DepthHead))
    {
        decoder = new UperDecoder(stageChannels, options.HeadChannels, [], generator);
        refine = new ConvNormAct(options.HeadChannels, options.HeadChannels, 3, generator);
        predict = nn.Conv2d(options.HeadChannels, 1, 3, padding: 1);
        HeadInit.Normal(predict.weight!, predict.bias, 0.01, generator, biasValue: Math.Log(options.MaxDepthMetres / 2));
        this.finestStride = finestStride;
        RegisterComponents();
    }

    public override Tensor forward(IReadOnlyList<Tensor> features)
    {
        var x = predict.AutocastForward(refine.forward(decoder.forward(features)));        // [B, 1, h0, w0]
        // Upsampling the log-depth rather than the depth interpolates geometrically, as the loss measures.
        return DenseUpsample.ByStride(x, finestStride).exp();                             // [B, 1, H, W]
    }
}
