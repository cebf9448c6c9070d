using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace GppfActors.Tasks.Tests.Layouts;

public class PalettePngFileSpecs
{
    [Fact]
    public void Should_read_palette_indices_as_labels_when_the_png_is_indexed()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.png");
        byte[] labels = [0, 1, 15, 255, 20, 0, 7, 255];
        PalettePngFile.Write(path, LayoutFixtures.Mask(4, 2, labels), PalettePngFile.VocPalette);

        var mask = PalettePngFile.Read(path);

        Assert.Equal((4, 2), (mask.Width, mask.Height));
        Assert.Equal(labels, mask.Labels);
    }

    [Fact]
    public void Should_write_a_png_that_a_standard_decoder_shows_in_the_voc_colours()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.png");
        PalettePngFile.Write(path, LayoutFixtures.Mask(4, 1, 0, 1, 15, 255), PalettePngFile.VocPalette);

        using var image = Image.Load<Rgb24>(path);

        // VOC's colour map: background black, aeroplane (128,0,0), person (192,128,128), border (224,224,192).
        Assert.Equal(new Rgb24(0, 0, 0), image[0, 0]);
        Assert.Equal(new Rgb24(128, 0, 0), image[1, 0]);
        Assert.Equal(new Rgb24(192, 128, 128), image[2, 0]);
        Assert.Equal(new Rgb24(224, 224, 192), image[3, 0]);
    }

    [Fact]
    public void Should_refuse_an_rgb_png_naming_the_file()
    {
        using var dir = new TempDirectory();
        var path = dir.File("rgb.png");
        RgbImageFile.WritePng(path, LayoutFixtures.Flat(3, 3));

        var e = Assert.Throws<DataFormatException>(() => PalettePngFile.Read(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("indexed-colour", e.Message);
    }

    [Fact]
    public void Should_name_the_file_when_it_is_truncated_or_not_a_png()
    {
        using var dir = new TempDirectory();
        var cut = dir.File("cut.png");
        PalettePngFile.Write(cut, LayoutFixtures.Mask(8, 8, new byte[64]), PalettePngFile.VocPalette);
        var bytes = File.ReadAllBytes(cut);
        File.WriteAllBytes(cut, bytes[..(bytes.Length - 20)]);
        var text = dir.File("text.png");
        File.WriteAllText(text, "not an image");

        var truncated = Assert.Throws<DataFormatException>(() => PalettePngFile.Read(cut));
        var garbage = Assert.Throws<DataFormatException>(() => PalettePngFile.Read(text));

        Assert.Equal(cut, truncated.FilePath);
        Assert.Contains("truncated", truncated.Message);
        Assert.Equal(text, garbage.FilePath);
    }
}
