namespace GppfActors.Tasks.Definitions;

/// <summary>
/// Classification training options; defaults are the paper's ImageNet recipe (appendix D: mixup
/// 0.8, cutmix 1.0, label smoothing 0.1) with timm's batch-mode mixing (always mix, switch to
/// cutmix with probability 0.5).
/// </summary>
/// <param name="LabelSmoothing">Mass moved uniformly over all classes: target = onehot * (1 - e) + e / K.</param>
/// <param name="MixupAlpha">Beta(alpha, alpha) parameter of the mixup ratio; 0 disables mixup.</param>
/// <param name="CutmixAlpha">Beta(alpha, alpha) parameter of the cutmix ratio; 0 disables cutmix.</param>
/// <param name="MixProbability">Probability that a batch is mixed at all.</param>
/// <param name="SwitchProbability">When both are enabled, probability of cutmix instead of mixup.</param>
/// <param name="MinCropScale">Smallest area fraction of random-resized-crop (torchvision: 0.08); small images of one object need more.</param>
public sealed record ClassificationOptions(
    double LabelSmoothing = 0.1,
    double MixupAlpha = 0.8,
    double CutmixAlpha = 1.0,
    double MixProbability = 1.0,
    double SwitchProbability = 0.5,
    double MinCropScale = 0.08)
{
    /// <summary>Options without mixing (label smoothing kept): evaluation-style targets, ablations, tests.</summary>
    public static ClassificationOptions NoMixing { get; } = new(MixupAlpha: 0, CutmixAlpha: 0);

    /// <summary>True when a batch may be mixed.</summary>
    public bool MixesBatches => MixProbability > 0 && (MixupAlpha > 0 || CutmixAlpha > 0);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid key under <paramref name="prefix"/>.</summary>
    public void Validate(string prefix)
    {
        ConfigCheck.Require(LabelSmoothing >= 0 && LabelSmoothing < 1, $"{prefix}.label_smoothing", "must be in [0, 1)", LabelSmoothing);
        ConfigCheck.Require(MixupAlpha >= 0 && double.IsFinite(MixupAlpha), $"{prefix}.mixup_alpha", "must be finite and >= 0", MixupAlpha);
        ConfigCheck.Require(CutmixAlpha >= 0 && double.IsFinite(CutmixAlpha), $"{prefix}.cutmix_alpha", "must be finite and >= 0", CutmixAlpha);
        ConfigCheck.InRange(MixProbability, 0, 1, $"{prefix}.mix_probability");
        ConfigCheck.InRange(SwitchProbability, 0, 1, $"{prefix}.switch_probability");
        ConfigCheck.Require(MinCropScale > 0 && MinCropScale <= 1, $"{prefix}.min_crop_scale", "must be in (0, 1]", MinCropScale);
    }
}
