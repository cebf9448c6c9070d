using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GppfActors.Tasks.Formats;

/// <summary>Reads PNG/JPEG images of any colour type as 8-bit RGB and writes RGB PNGs and JPEGs.</summary>
public static class RgbImageFile
{
    // Fixed encoder settings: the synthetic generator promises identical bytes for identical seeds.
    private static readonly PngEncoder Encoder = new()
    {
        ColorType = PngColorType.Rgb,
        BitDepth = PngBitDepth.Bit8,
        CompressionLevel = PngCompressionLevel.DefaultCompression,
        FilterMethod = PngFilterMethod.Adaptive,
    };

    /// <summary>
    /// Decodes to 8-bit RGB (grey and palette images are expanded). EXIF orientation is not applied, as with
    /// PIL's Image.open: COCO-style annotations refer to the pixels as stored.
    /// </summary>
    public static RgbImage Read(string path)
    {
        using var image = ImageFiles.Load<Rgb24>(path, out _);
        var pixels = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return new RgbImage(image.Width, image.Height, pixels);
    }

    public static void WritePng(string path, RgbImage image)
    {
        using var encoded = Image.LoadPixelData<Rgb24>(image.Pixels, image.Width, image.Height);
        ImageFiles.SavePng(encoded, path, Encoder);
    }

    /// <summary>
    /// Writes a JPEG, the form most distributed sets store their images in (VOC's JPEGImages, ADE20K, COCO). Lossy:
    /// the pixels read back are close to, not equal to, <paramref name="image"/>'s.
    /// </summary>
    public static void WriteJpeg(string path, RgbImage image, int quality = 90)
    {
        using var encoded = Image.LoadPixelData<Rgb24>(image.Pixels, image.Width, image.Height);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var partial = path + ".partial";
        encoded.SaveAsJpeg(partial, new JpegEncoder { Quality = quality });
        File.Move(partial, path, overwrite: true);
    }
}
