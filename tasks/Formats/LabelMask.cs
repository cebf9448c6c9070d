namespace GppfActors.Tasks.Formats;

/// <summary>A semantic label mask: one class byte per pixel, row-major; <see cref="Ignore"/> marks pixels no loss should see.</summary>
public sealed class LabelMask
{
    /// <summary>The ignore label shared with the segmentation loss and metric.</summary>
    public const byte Ignore = 255;

    public LabelMask(int width, int height, byte[] labels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (labels.Length != width * height)
        {
            throw new ArgumentException($"expected {width * height} labels for {width}x{height}, got {labels.Length}", nameof(labels));
        }
        Width = width;
        Height = height;
        Labels = labels;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Width * Height labels.</summary>
    public byte[] Labels { get; }
}
