using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Formats;

public class ImageFileSpecs
{
    [Fact]
    public void Should_read_every_pixel_when_png_is_written_by_imagesharp()
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.png");
        var expected = TestImages.Pattern(5, 3);
        TestImages.WriteRgbPng(path, expected);

        var image = RgbImageFile.Read(path);

        Assert.Equal((5, 3), (image.Width, image.Height));
        Assert.Equal(expected.Pixels, image.Pixels);
    }

    [Fact]
    public void Should_read_jpeg_as_rgb_when_file_is_jpeg()
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.jpg");
        TestImages.WriteJpeg(path, 8, 6);

        var image = RgbImageFile.Read(path);

        Assert.Equal((8, 6), (image.Width, image.Height));
        Assert.InRange(image.Pixels[0], 180, 220);
    }

    [Fact]
    public void Should_name_the_file_when_image_is_missing()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "missing.png");

        var e = Assert.Throws<DataFormatException>(() => RgbImageFile.Read(path));

        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path, e.Message);
        Assert.Contains("file not found", e.Message);
    }

    [Fact]
    public void Should_name_the_file_when_image_is_corrupt()
    {
        using var dir = new TempDirectory();
        var path = dir.File("broken.png");
        TestImages.WriteGarbage(path);

        var e = Assert.Throws<DataFormatException>(() => RgbImageFile.Read(path));

        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void Should_round_trip_labels_including_ignore_when_mask_is_written_and_read()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.png");
        var mask = new LabelMask(3, 2, [0, 1, 2, 5, 255, 0]);

        LabelMaskFile.Write(path, mask);
        var read = LabelMaskFile.Read(path);

        Assert.Equal(mask.Labels, read.Labels);
    }

    [Fact]
    public void Should_refuse_an_rgb_png_as_mask_when_naming_the_file()
    {
        using var dir = new TempDirectory();
        var path = dir.File("rgb-mask.png");
        TestImages.WriteRgbPng(path, TestImages.Pattern(4, 4));

        var e = Assert.Throws<DataFormatException>(() => LabelMaskFile.Read(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("8-bit grayscale", e.Message);
    }

    [Fact]
    public void Should_decode_value_over_256_as_metres_when_depth_is_16_bit()
    {
        using var dir = new TempDirectory();
        var path = dir.File("d.png");
        ushort[] raw = [0, 256, 2560, 65535];
        TestImages.WriteGray16(path, 2, 2, (x, y) => raw[y * 2 + x]);

        var depth = DepthPngFile.Read(path);

        Assert.Equal([0f, 1f, 10f, 65535f / 256f], depth.Metres);
    }

    [Fact]
    public void Should_round_trip_depth_to_a_256th_of_a_metre_when_written_and_read()
    {
        using var dir = new TempDirectory();
        var path = dir.File("d.png");

        DepthPngFile.Write(path, new DepthMap(3, 1, [0f, 2.5f, 12.3456f]));
        var read = DepthPngFile.Read(path);

        Assert.Equal(0f, read.Metres[0]);
        Assert.Equal(2.5f, read.Metres[1]);
        Assert.InRange(read.Metres[2], 12.3456f - 1f / 512, 12.3456f + 1f / 512);
    }

    [Fact]
    public void Should_refuse_8_bit_depth_when_naming_the_file()
    {
        using var dir = new TempDirectory();
        var path = dir.File("depth8.png");
        TestImages.WriteGray8(path, 4, 4, (x, y) => 10);

        var e = Assert.Throws<DataFormatException>(() => DepthPngFile.Read(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("16-bit", e.Message);
    }

    [Fact]
    public void Should_refuse_jpeg_depth_when_naming_the_file()
    {
        using var dir = new TempDirectory();
        var path = dir.File("depth.jpg");
        TestImages.WriteJpeg(path, 4, 4);

        var e = Assert.Throws<DataFormatException>(() => DepthPngFile.Read(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains("PNG", e.Message);
    }
}
