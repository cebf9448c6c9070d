using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>
/// One sample as read from disk, before augmentation: the image plus whichever targets its task has.
/// A single type for all families keeps the augmenter to one geometric path for every target.
/// </summary>
public sealed class DecodedSample
{
    public required RgbImage Image { get; init; }

    /// <summary>The file errors about this sample should name (the image, usually).</summary>
    public required string SourcePath { get; init; }

    /// <summary>Classification label.</summary>
    public int? ClassLabel { get; init; }

    /// <summary>Detection boxes in image pixels.</summary>
    public IReadOnlyList<BoxAnnotation>? Boxes { get; init; }

    /// <summary>
    /// Instance segmentation: one mask per entry of <see cref="Boxes"/>, in the same order, each cropped to its
    /// window in the image's pixels (a full-image mask per instance is hundreds of MB on an LVIS image).
    /// </summary>
    public IReadOnlyList<CroppedMask>? InstanceMasks { get; init; }

    /// <summary>Semantic label mask, same size as the image.</summary>
    public LabelMask? Mask { get; init; }

    /// <summary>Depth in metres, same size as the image.</summary>
    public DepthMap? Depth { get; init; }
}
