using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Tests.Layouts;

/// <summary>Small files in the layouts' real forms, written with the project's writers.</summary>
internal static class LayoutFixtures
{
    /// <summary>A w x h RGB image of one colour.</summary>
    public static RgbImage Flat(int width, int height, byte r = 90, byte g = 140, byte b = 200)
    {
        var pixels = new byte[width * height * 3];
        for (var i = 0; i < pixels.Length; i += 3)
        {
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (r, g, b);
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>A mask whose row-major labels are <paramref name="labels"/>.</summary>
    public static LabelMask Mask(int width, int height, params byte[] labels) => new(width, height, labels);

    public static void Jpeg(string path, int width, int height) => RgbImageFile.WriteJpeg(path, Flat(width, height));
}
