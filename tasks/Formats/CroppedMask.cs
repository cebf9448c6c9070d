namespace GppfActors.Tasks.Formats;

/// <summary>
/// One instance's mask kept only over a window of its image: <see cref="Width"/> x <see cref="Height"/> pixels
/// (row-major, 1 inside, 0 outside) whose top-left pixel is (<see cref="X"/>, <see cref="Y"/>) of the image;
/// every image pixel outside the window is outside the mask. Decoders take the window as the inside pixels'
/// integer bounding box padded by 1 px and clipped to the image, so an instance costs its box, not its image:
/// an LVIS image holds hundreds of instances, most of them small.
/// </summary>
public sealed class CroppedMask
{
    private readonly byte[] pixels;

    public CroppedMask(int x, int y, int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(x);
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        if (pixels.Length != width * height)
        {
            throw new ArgumentException($"a {width}x{height} crop needs {width * height} pixels, got {pixels.Length}", nameof(pixels));
        }
        X = x;
        Y = y;
        Width = width;
        Height = height;
        this.pixels = pixels;
    }

    /// <summary>A mask with no pixel inside (also what a crop of nothing is).</summary>
    public static CroppedMask Empty { get; } = new(0, 0, 0, 0, []);

    /// <summary>Image column of the window's first column.</summary>
    public int X { get; }

    /// <summary>Image row of the window's first row.</summary>
    public int Y { get; }

    public int Width { get; }

    public int Height { get; }

    /// <summary>The window's pixels, row-major, 1 inside.</summary>
    public ReadOnlySpan<byte> Pixels => pixels;

    /// <summary>Whether image pixel (x, y) is inside; false anywhere outside the window.</summary>
    public bool this[int y, int x] =>
        x >= X && x < X + Width && y >= Y && y < Y + Height && pixels[(y - Y) * Width + (x - X)] != 0;

    /// <summary>
    /// The smallest window around <paramref name="mask"/>'s inside pixels, padded by 1 px and clipped to the mask,
    /// with the same pixels: the crop of a full-image mask (an empty mask gives <see cref="Empty"/>).
    /// </summary>
    public static CroppedMask Crop(BinaryMask mask)
    {
        var box = mask.BoundingBox();
        if (box.X2 <= box.X1 || box.Y2 <= box.Y1)
        {
            return Empty;
        }
        int x1 = Math.Max(0, (int)box.X1 - 1), y1 = Math.Max(0, (int)box.Y1 - 1);
        int x2 = Math.Min(mask.Width, (int)box.X2 + 1), y2 = Math.Min(mask.Height, (int)box.Y2 + 1);
        var full = mask.Pixels;
        var crop = new byte[(x2 - x1) * (y2 - y1)];
        for (int y = y1; y < y2; y++)
        {
            for (int x = x1; x < x2; x++)
            {
                crop[(y - y1) * (x2 - x1) + (x - x1)] = full[y * mask.Width + x] ? (byte)1 : (byte)0;
            }
        }
        return new CroppedMask(x1, y1, x2 - x1, y2 - y1, crop);
    }

    /// <summary>The mask over a whole image of <paramref name="width"/> x <paramref name="height"/> (evaluation compares whole masks).</summary>
    public BinaryMask ToBinaryMask(int width, int height)
    {
        if (X + Width > width || Y + Height > height)
        {
            throw new ArgumentException($"a {Width}x{Height} crop at ({X}, {Y}) does not fit a {width}x{height} image");
        }
        var full = new bool[width * height];
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < Width; x++)
            {
                full[(Y + y) * width + X + x] = pixels[y * Width + x] != 0;
            }
        }
        return new BinaryMask(width, height, full);
    }
}
