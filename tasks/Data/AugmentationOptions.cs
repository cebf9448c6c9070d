namespace GppfActors.Tasks.Data;

/// <summary>A task's augmentation and input size, with the standard defaults of each family.</summary>
public sealed record AugmentationOptions
{
    public AugmentationKind Kind { get; init; } = AugmentationKind.RandomResizedCrop;

    /// <summary>Width of every image the loader hands out (SIMT lets tasks differ here).</summary>
    public int OutputWidth { get; init; } = 32;

    public int OutputHeight { get; init; } = 32;

    /// <summary>Random-resized-crop: smallest and largest crop area as a fraction of the image; scale jitter: zoom range.</summary>
    public double MinScale { get; init; } = 0.08;

    public double MaxScale { get; init; } = 1.0;

    /// <summary>Random-resized-crop aspect-ratio range (width / height).</summary>
    public double MinAspectRatio { get; init; } = 3.0 / 4.0;

    public double MaxAspectRatio { get; init; } = 4.0 / 3.0;

    public double FlipProbability { get; init; } = 0.5;

    /// <summary>Boxes narrower or lower than this (in output pixels) after cropping are dropped.</summary>
    public float MinBoxSidePixels { get; init; } = 1f;

    /// <summary>torchvision's RandomResizedCrop defaults at a square output size.</summary>
    public static AugmentationOptions Classification(int size) =>
        new() { Kind = AugmentationKind.RandomResizedCrop, OutputWidth = size, OutputHeight = size, MinScale = 0.08, MaxScale = 1.0 };

    /// <summary>Scale jitter 0.5x-2x around "fit the output", then crop or pad to the output size.</summary>
    public static AugmentationOptions Dense(int width, int height) =>
        new() { Kind = AugmentationKind.ScaleJitterCrop, OutputWidth = width, OutputHeight = height, MinScale = 0.5, MaxScale = 2.0 };

    /// <summary>Deterministic resize for evaluation.</summary>
    public static AugmentationOptions Evaluation(int width, int height) =>
        new() { Kind = AugmentationKind.Resize, OutputWidth = width, OutputHeight = height, FlipProbability = 0 };

    /// <summary>Throws an <see cref="ArgumentException"/> that says which setting is wrong and why.</summary>
    public AugmentationOptions Validate()
    {
        if (OutputWidth <= 0 || OutputHeight <= 0)
        {
            throw new ArgumentException($"output size must be positive, got {OutputWidth}x{OutputHeight}");
        }
        if (!(MinScale > 0 && MinScale <= MaxScale))
        {
            throw new ArgumentException($"need 0 < MinScale <= MaxScale, got {MinScale}..{MaxScale}");
        }
        if (Kind == AugmentationKind.RandomResizedCrop && MaxScale > 1)
        {
            throw new ArgumentException($"random-resized-crop takes at most the whole image (MaxScale <= 1), got {MaxScale}");
        }
        if (!(MinAspectRatio > 0 && MinAspectRatio <= MaxAspectRatio))
        {
            throw new ArgumentException($"need 0 < MinAspectRatio <= MaxAspectRatio, got {MinAspectRatio}..{MaxAspectRatio}");
        }
        if (FlipProbability is < 0 or > 1)
        {
            throw new ArgumentException($"FlipProbability must lie in [0, 1], got {FlipProbability}");
        }
        return this;
    }
}
