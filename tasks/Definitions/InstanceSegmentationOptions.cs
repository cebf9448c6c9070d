namespace GppfActors.Tasks.Definitions;

/// <summary>
/// The mask part of instance segmentation (CondInst): the mask branch on the finest pyramid level,
/// the dynamic mask head whose weights the detection head predicts per instance, and the loss and
/// decoding settings. Defaults follow CondInst (8 mask-feature channels, a mask branch of 4 convs
/// of 128 channels, three dynamic 1x1 convs of 8 channels, masks at stride 4, at most 500
/// instances trained per image, probability threshold 0.5). The detection part reads the task's
/// <see cref="DetectionOptions"/>.
/// </summary>
/// <param name="MaskChannels">Channels of the mask features the dynamic head reads (plus 2 relative coordinates).</param>
/// <param name="BranchChannels">Channels of the mask branch's convolutions.</param>
/// <param name="NumBranchConvs">3x3 conv + GroupNorm + ReLU layers of the mask branch.</param>
/// <param name="DynamicChannels">Channels of the dynamic head's hidden 1x1 convs.</param>
/// <param name="MaskOutStride">Input pixels per mask pixel of the loss (the dynamic head's output is upsampled to it).</param>
/// <param name="MaxInstancesPerImage">Positive locations per image whose masks are trained (those of highest centerness target first).</param>
/// <param name="MaskThreshold">Decoding: a pixel is inside where the mask probability is at least this.</param>
/// <param name="MaskLossWeight">Factor on the dice loss in the task loss.</param>
public sealed record InstanceSegmentationOptions(
    int MaskChannels = 8,
    int BranchChannels = 128,
    int NumBranchConvs = 4,
    int DynamicChannels = 8,
    int MaskOutStride = 4,
    int MaxInstancesPerImage = 500,
    double MaskThreshold = 0.5,
    double MaskLossWeight = 1.0)
{
    /// <summary>Dynamic 1x1 conv layers of the mask head (CondInst: 3).</summary>
    public const int NumDynamicLayers = 3;

    /// <summary>Weights and biases of one instance's dynamic head: (C+2) x D + D, D x D + D, D x 1 + 1.</summary>
    public int NumDynamicParams => (MaskChannels + 2) * DynamicChannels + DynamicChannels + DynamicChannels * DynamicChannels + DynamicChannels + DynamicChannels + 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid key under <paramref name="prefix"/>.</summary>
    public void Validate(string prefix)
    {
        ConfigCheck.AtLeast(MaskChannels, 1, $"{prefix}.mask_channels");
        ConfigCheck.AtLeast(BranchChannels, 1, $"{prefix}.branch_channels");
        ConfigCheck.AtLeast(NumBranchConvs, 0, $"{prefix}.num_branch_convs");
        ConfigCheck.AtLeast(DynamicChannels, 1, $"{prefix}.dynamic_channels");
        ConfigCheck.Require(MaskOutStride >= 1 && (MaskOutStride & (MaskOutStride - 1)) == 0, $"{prefix}.mask_out_stride", "must be a power of two", MaskOutStride);
        ConfigCheck.AtLeast(MaxInstancesPerImage, 1, $"{prefix}.max_instances_per_image");
        ConfigCheck.Require(MaskThreshold > 0 && MaskThreshold < 1, $"{prefix}.mask_threshold", "must be in (0, 1)", MaskThreshold);
        ConfigCheck.Require(MaskLossWeight >= 0 && double.IsFinite(MaskLossWeight), $"{prefix}.mask_loss_weight", "must be finite and >= 0", MaskLossWeight);
    }
}
