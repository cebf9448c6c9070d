namespace GppfActors.Tasks.Data;

/// <summary>Which geometric augmentation a task's loader applies.</summary>
public enum AugmentationKind
{
    /// <summary>Classification training: random-resized-crop (Inception style) and horizontal flip.</summary>
    RandomResizedCrop,

    /// <summary>Dense training (detection, segmentation, depth): scale jitter, random crop or pad, horizontal flip.</summary>
    ScaleJitterCrop,

    /// <summary>Evaluation: the whole image resized to the output size, no randomness.</summary>
    Resize,
}
