using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GppfActors.Tasks.Formats;

/// <summary>Reads and writes 8-bit grayscale PNG label masks (pixel value = class, 255 = ignore).</summary>
public static class LabelMaskFile
{
    private static readonly PngEncoder Encoder = new()
    {
        ColorType = PngColorType.Grayscale,
        BitDepth = PngBitDepth.Bit8,
        CompressionLevel = PngCompressionLevel.DefaultCompression,
        FilterMethod = PngFilterMethod.Adaptive,
    };

    public static LabelMask Read(string path)
    {
        using var image = ImageFiles.Load<L8>(path, out var format);
        var png = ImageFiles.RequirePng(path, image, format, "a label mask");
        // Anything but 8-bit grayscale would be converted to luminance by the decoder, which silently
        // turns class indices into other numbers (a VOC palette mask is the classic case): refuse instead.
        if (png.ColorType != PngColorType.Grayscale || png.BitDepth != PngBitDepth.Bit8)
        {
            throw new DataFormatException(path, $"a label mask must be an 8-bit grayscale PNG, found {png.ColorType} {png.BitDepth}");
        }
        var labels = new byte[image.Width * image.Height];
        image.CopyPixelDataTo(labels);
        return new LabelMask(image.Width, image.Height, labels);
    }

    public static void Write(string path, LabelMask mask)
    {
        using var encoded = Image.LoadPixelData<L8>(mask.Labels, mask.Width, mask.Height);
        ImageFiles.SavePng(encoded, path, Encoder);
    }
}
