using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Formats;

public class ImageFolderIndexSpecs
{
    [Fact]
    public void Should_number_classes_in_ordinal_name_order_when_folders_are_listed()
    {
        using var dir = new TempDirectory();
        TestImages.WriteRgbPng(dir.File("zebra", "1.png"), TestImages.Pattern(2, 2));
        TestImages.WriteRgbPng(dir.File("Apple", "2.png"), TestImages.Pattern(2, 2));
        TestImages.WriteJpeg(dir.File("apple", "b.jpg"), 2, 2);
        TestImages.WriteRgbPng(dir.File("apple", "a.PNG"), TestImages.Pattern(2, 2));
        File.WriteAllText(dir.File("apple", "notes.txt"), "not an image");

        var index = ImageFolderIndex.Open(dir.Path);

        Assert.Equal(["Apple", "apple", "zebra"], index.ClassNames);
        Assert.Equal(
            [("Apple", "2.png", 0), ("apple", "a.PNG", 1), ("apple", "b.jpg", 1), ("zebra", "1.png", 2)],
            index.Samples.Select(s => (Path.GetFileName(Path.GetDirectoryName(s.ImagePath))!, Path.GetFileName(s.ImagePath), s.Label)));
    }

    [Fact]
    public void Should_name_the_folder_when_a_class_holds_no_images()
    {
        using var dir = new TempDirectory();
        TestImages.WriteRgbPng(dir.File("cat", "1.png"), TestImages.Pattern(2, 2));
        Directory.CreateDirectory(Path.Combine(dir.Path, "dog"));

        var e = Assert.Throws<DataFormatException>(() => ImageFolderIndex.Open(dir.Path));

        Assert.Equal(Path.Combine(dir.Path, "dog"), e.FilePath);
    }

    [Fact]
    public void Should_name_the_root_when_it_does_not_exist()
    {
        var root = Path.Combine(Path.GetTempPath(), "gppf-no-such-" + Guid.NewGuid().ToString("N"));

        var e = Assert.Throws<DataFormatException>(() => ImageFolderIndex.Open(root));

        Assert.Equal(root, e.FilePath);
    }

    [Fact]
    public void Should_name_the_missing_target_when_an_image_has_no_mask()
    {
        using var dir = new TempDirectory();
        TestImages.WriteRgbPng(dir.File("images", "a.png"), TestImages.Pattern(2, 2));
        TestImages.WriteRgbPng(dir.File("images", "b.jpg"), TestImages.Pattern(2, 2));
        TestImages.WriteGray8(dir.File("masks", "a.png"), 2, 2, (x, y) => 1);

        var e = Assert.Throws<DataFormatException>(() =>
            PairedFolderIndex.Open(Path.Combine(dir.Path, "images"), Path.Combine(dir.Path, "masks")));

        Assert.Equal(Path.Combine(dir.Path, "masks", "b.png"), e.FilePath);
        Assert.Contains("b.jpg", e.Message);
    }
}
