using GppfActors.Tasks.Formats;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GppfActors.Tasks.Tests.Support;

/// <summary>Small images with known pixels, written straight with ImageSharp (independently of the readers under test).</summary>
internal static class TestImages
{
    /// <summary>A w x h RGB image whose pixel (x, y) is (x * 10 + seed, y * 10, (x + y) * 5) modulo 256.</summary>
    public static RgbImage Pattern(int width, int height, int seed = 0)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var p = (y * width + x) * 3;
                pixels[p] = (byte)(x * 10 + seed);
                pixels[p + 1] = (byte)(y * 10);
                pixels[p + 2] = (byte)((x + y) * 5);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    public static void WriteRgbPng(string path, RgbImage image)
    {
        using var encoded = Image.LoadPixelData<Rgb24>(image.Pixels, image.Width, image.Height);
        encoded.SaveAsPng(path);
    }

    public static void WriteJpeg(string path, int width, int height)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(200, 40, 40));
        image.SaveAsJpeg(path);
    }

    /// <summary>An 8-bit grayscale PNG, the format label masks use, but also usable as a "wrong depth" file.</summary>
    public static void WriteGray8(string path, int width, int height, Func<int, int, byte> value)
    {
        using var image = new Image<L8>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new L8(value(x, y));
            }
        }
        image.SaveAsPng(path, new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit8 });
    }

    public static void WriteGray16(string path, int width, int height, Func<int, int, ushort> value)
    {
        using var image = new Image<L16>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new L16(value(x, y));
            }
        }
        image.SaveAsPng(path, new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit16 });
    }

    /// <summary>A file named .png that is not an image: the typical half-downloaded or mis-renamed file.</summary>
    public static void WriteGarbage(string path) => File.WriteAllBytes(path, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 5]);
}
