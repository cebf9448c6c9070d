using GppfActors.Tasks.Metrics;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// One instance's mask: <see cref="Height"/> x <see cref="Width"/> pixels, row-major, true inside.
/// </summary>
public sealed class BinaryMask
{
    private readonly bool[] pixels;

    public BinaryMask(int width, int height, bool[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        if (pixels.Length != width * height)
        {
            throw new ArgumentException($"a {width}x{height} mask needs {width * height} pixels, got {pixels.Length}", nameof(pixels));
        }
        Width = width;
        Height = height;
        this.pixels = pixels;
        Area = pixels.Count(p => p);
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Pixels inside.</summary>
    public int Area { get; }

    public bool this[int y, int x] => pixels[y * Width + x];

    /// <summary>The pixels, row-major.</summary>
    public ReadOnlySpan<bool> Pixels => pixels;

    /// <summary>Intersection over union of the two masks' pixels (0 when both are empty), as COCO's segm evaluation counts it.</summary>
    public double Iou(BinaryMask other)
    {
        if (other.Width != Width || other.Height != Height)
        {
            throw new ArgumentException($"masks of different sizes: {Width}x{Height} and {other.Width}x{other.Height}", nameof(other));
        }
        int intersection = 0;
        for (int i = 0; i < pixels.Length; i++)
        {
            if (pixels[i] && other.pixels[i])
            {
                intersection++;
            }
        }
        int union = Area + other.Area - intersection;
        return union == 0 ? 0 : (double)intersection / union;
    }

    /// <summary>The tightest box around the inside pixels (pixel edges: a single pixel at (x, y) is [x, y, x + 1, y + 1]); empty masks give an empty box.</summary>
    public Box BoundingBox()
    {
        int x1 = Width, y1 = Height, x2 = -1, y2 = -1;
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < Width; x++)
            {
                if (pixels[y * Width + x])
                {
                    (x1, y1, x2, y2) = (Math.Min(x1, x), Math.Min(y1, y), Math.Max(x2, x), Math.Max(y2, y));
                }
            }
        }
        return x2 < 0 ? new Box(0, 0, 0, 0) : new Box(x1, y1, x2 + 1, y2 + 1);
    }
}
