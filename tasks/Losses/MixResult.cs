using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

/// <summary>A mixed classification batch: new images, soft targets whose rows sum to 1, and how they were made.</summary>
/// <param name="Images">Mixed images [B, 3, H, W] (a new tensor; the input is not modified).</param>
/// <param name="Targets">Soft targets [B, K]: lambda * smoothed(own) + (1 - lambda) * smoothed(partner).</param>
/// <param name="Lambda">Share of each sample's own content; for cutmix, 1 - pasted area / image area.</param>
/// <param name="Kind">What was applied.</param>
/// <param name="CutBox">The pasted rectangle, for cutmix.</param>
public sealed record MixResult(Tensor Images, Tensor Targets, double Lambda, MixKind Kind, PixelBox? CutBox);
