using GppfActors.Model.Precision;
using GppfActors.Tasks.Definitions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, C pyramid channels, K classes, P dynamic parameters, Cm mask channels,
// N detection locations over all levels, M = h0 x w0 locations of the finest level, D = K + 5 + P.

/// <summary>
/// Instance segmentation head in the CondInst style: the FCOS detection head, a controller that
/// predicts per location the P weights and biases of a small dynamic mask head (a 3x3 conv on the
/// box tower, as CondInst places it), and a mask branch giving Cm-channel mask features on the
/// finest level. Owned by the network as the task's head. Output, packed (see
/// <see cref="InstanceMaskLayout"/>): [B, N + M, D]; rows 0..N-1 are the detection head's K + 5
/// channels followed by the location's P dynamic parameters; rows N..N+M-1 hold the mask features
/// of the finest level's cells (row-major) in their first Cm channels, zeros after.
/// Keys: fcos.*, controller.*, mask_branch.*.
/// </summary>
public sealed class CondInstHead : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    private readonly FcosHead fcos;
    private readonly Conv2d controller;
    private readonly MaskBranch mask_branch;
    private readonly int width;

    /// <summary>A head over stages of <paramref name="stageChannels"/> with detection levels at <paramref name="levelStrides"/>.</summary>
    public CondInstHead(IReadOnlyList<long> stageChannels, IReadOnlyList<int> levelStrides, int numClasses,
        DetectionOptions detection, InstanceSegmentationOptions mask, Generator generator)
        : base(nameof(CondInstHead))
    {
        fcos = new FcosHead(stageChannels, levelStrides, numClasses, detection, generator);
        controller = nn.Conv2d(detection.FpnChannels, mask.NumDynamicParams, 3, padding: 1);
        HeadInit.Normal(controller.weight!, controller.bias, 0.01, generator);
        mask_branch = new MaskBranch(levelStrides.Count, detection.FpnChannels, mask.BranchChannels, mask.NumBranchConvs, mask.MaskChannels, generator);
        width = InstanceMaskLayout.Width(numClasses, mask);
        RegisterComponents();
    }

    public override Tensor forward(IReadOnlyList<Tensor> features)
    {
        var (detection, pyramid, towers) = fcos.ForwardParts(features);    // [B, N, K+5]
        var parameters = cat(towers.Select(t => controller.AutocastForward(t).flatten(2).transpose(1, 2)).ToArray(), 1); // [B, N, P]
        var maskFeatures = mask_branch.forward(pyramid).flatten(2).transpose(1, 2);  // [B, M, Cm]
        var padded = nn.functional.pad(maskFeatures, [0, width - maskFeatures.shape[2]]);  // [B, M, D]
        return cat([cat([detection, parameters], 2), padded], 1);          // [B, N+M, D]
    }
}
