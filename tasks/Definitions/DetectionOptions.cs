namespace GppfActors.Tasks.Definitions;

/// <summary>
/// FCOS-style detection options; defaults follow FCOS (focal alpha 0.25, gamma 2, prior 0.01,
/// 4 tower convolutions of 256 channels, size ranges 8 x stride, 1000 candidates before NMS, 100
/// detections) with the class-wise NMS IoU threshold 0.6.
/// </summary>
/// <param name="NumLevels">Pyramid levels, built from the last this-many backbone stages (fewer if the backbone has fewer).</param>
/// <param name="FpnChannels">Channels of the pyramid and of the head towers.</param>
/// <param name="NumTowerConvs">3x3 conv + GroupNorm + ReLU layers in each of the class and box towers.</param>
/// <param name="SizeRangeScale">Level i takes objects whose largest ltrb distance is in (scale x stride(i-1), scale x stride(i)]; the first level starts at 0, the last is unbounded.</param>
/// <param name="FocalAlpha">Focal-loss weight of positives.</param>
/// <param name="FocalGamma">Focal-loss focusing exponent.</param>
/// <param name="PriorProbability">Initial foreground probability of the class logits (bias = -log((1 - p) / p)).</param>
/// <param name="ScoreThreshold">Decoding keeps locations whose class probability exceeds this.</param>
/// <param name="PreNmsTopK">Decoding keeps at most this many candidates per image before NMS.</param>
/// <param name="NmsIouThreshold">Class-wise NMS drops a box whose IoU with a higher-scored box of its class exceeds this.</param>
/// <param name="MaxDetections">Detections kept per image after NMS (COCO's maxDets).</param>
public sealed record DetectionOptions(
    int NumLevels = 3,
    int FpnChannels = 256,
    int NumTowerConvs = 4,
    double SizeRangeScale = 8,
    double FocalAlpha = 0.25,
    double FocalGamma = 2.0,
    double PriorProbability = 0.01,
    double ScoreThreshold = 0.05,
    int PreNmsTopK = 1000,
    double NmsIouThreshold = 0.6,
    int MaxDetections = 100)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid key under <paramref name="prefix"/>.</summary>
    public void Validate(string prefix)
    {
        ConfigCheck.AtLeast(NumLevels, 1, $"{prefix}.num_levels");
        ConfigCheck.AtLeast(FpnChannels, 1, $"{prefix}.fpn_channels");
        ConfigCheck.AtLeast(NumTowerConvs, 0, $"{prefix}.num_tower_convs");
        ConfigCheck.Above(SizeRangeScale, 0, $"{prefix}.size_range_scale");
        ConfigCheck.InRange(FocalAlpha, 0, 1, $"{prefix}.focal_alpha");
        ConfigCheck.Require(FocalGamma >= 0 && double.IsFinite(FocalGamma), $"{prefix}.focal_gamma", "must be finite and >= 0", FocalGamma);
        ConfigCheck.Require(PriorProbability > 0 && PriorProbability < 1, $"{prefix}.prior_probability", "must be in (0, 1)", PriorProbability);
        ConfigCheck.InRange(ScoreThreshold, 0, 1, $"{prefix}.score_threshold");
        ConfigCheck.AtLeast(PreNmsTopK, 1, $"{prefix}.pre_nms_top_k");
        ConfigCheck.InRange(NmsIouThreshold, 0, 1, $"{prefix}.nms_iou_threshold");
        ConfigCheck.AtLeast(MaxDetections, 1, $"{prefix}.max_detections");
    }
}
