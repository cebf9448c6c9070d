using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>One sample after augmentation, in plain arrays so workers need no tensors; the collator makes tensors.</summary>
public sealed class AugmentedSample
{
    /// <summary>Dataset index actually used (differs from the requested one when a bad sample was skipped).</summary>
    public required long SampleIndex { get; init; }

    public required int Width { get; init; }

    public required int Height { get; init; }

    /// <summary>Normalised image, 3 * Height * Width, channel-major.</summary>
    public required float[] Image { get; init; }

    public int? ClassLabel { get; init; }

    /// <summary>Boxes in output pixels.</summary>
    public IReadOnlyList<BoxAnnotation>? Boxes { get; init; }

    /// <summary>
    /// Instance masks in output pixels, each cropped to its window (1 inside, 0 outside and where the crop padded),
    /// one per entry of <see cref="Boxes"/>.
    /// </summary>
    public IReadOnlyList<CroppedMask>? InstanceMasks { get; init; }

    /// <summary>Labels per output pixel, 255 = ignore (also where the crop padded).</summary>
    public byte[]? Mask { get; init; }

    /// <summary>Metres per output pixel, 0 = no measurement (also where the crop padded).</summary>
    public float[]? Depth { get; init; }
}
