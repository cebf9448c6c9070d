using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GppfActors.Tasks.Formats;

/// <summary>Reads and writes 16-bit grayscale PNG depth as KITTI stores it: metres = value / 256, 0 = no measurement.</summary>
public static class DepthPngFile
{
    /// <summary>Stored units per metre.</summary>
    public const float UnitsPerMetre = 256f;

    /// <summary>The largest depth the format can hold.</summary>
    public const float MaxMetres = ushort.MaxValue / UnitsPerMetre;

    private static readonly PngEncoder Encoder = new()
    {
        ColorType = PngColorType.Grayscale,
        BitDepth = PngBitDepth.Bit16,
        CompressionLevel = PngCompressionLevel.DefaultCompression,
        FilterMethod = PngFilterMethod.Adaptive,
    };

    public static DepthMap Read(string path)
    {
        using var image = ImageFiles.Load<L16>(path, out var format);
        var png = ImageFiles.RequirePng(path, image, format, "a depth map");
        // An 8-bit file would decode "successfully" with every depth scaled by 257: refuse it.
        if (png.ColorType != PngColorType.Grayscale || png.BitDepth != PngBitDepth.Bit16)
        {
            throw new DataFormatException(path, $"a depth map must be a 16-bit grayscale PNG, found {png.ColorType} {png.BitDepth}");
        }
        var raw = new L16[image.Width * image.Height];
        image.CopyPixelDataTo(raw);
        var metres = new float[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            metres[i] = raw[i].PackedValue / UnitsPerMetre;
        }
        return new DepthMap(image.Width, image.Height, metres);
    }

    /// <summary>Writes depth rounded to 1/256 m; values at or below 0 (and NaN) are stored as "no measurement".</summary>
    public static void Write(string path, DepthMap depth)
    {
        var raw = new L16[depth.Metres.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            var d = depth.Metres[i];
            raw[i] = new L16(d > 0 ? (ushort)Math.Clamp(MathF.Round(d * UnitsPerMetre), 1f, ushort.MaxValue) : (ushort)0);
        }
        using var encoded = Image.LoadPixelData<L16>(raw, depth.Width, depth.Height);
        ImageFiles.SavePng(encoded, path, Encoder);
    }
}
