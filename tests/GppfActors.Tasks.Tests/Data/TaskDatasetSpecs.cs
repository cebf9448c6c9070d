using System.Text.Json.Nodes;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Data;

public class TaskDatasetSpecs
{
    [Fact]
    public void Should_name_the_mask_when_its_size_differs_from_its_image()
    {
        using var dir = new TempDirectory();
        TestImages.WriteRgbPng(dir.File("images", "a.png"), TestImages.Pattern(8, 6));
        var mask = dir.File("masks", "a.png");
        TestImages.WriteGray8(mask, 6, 8, (x, y) => 1);
        var dataset = SegmentationFolderDataset.Open("seg", Path.Combine(dir.Path, "images"), Path.Combine(dir.Path, "masks"));

        var e = Assert.Throws<DataFormatException>(() => dataset.Decode(0));

        Assert.Equal(mask, e.FilePath);
        Assert.Contains("6x8", e.Message);
        Assert.Contains("8x6", e.Message);
    }

    [Fact]
    public void Should_name_the_depth_file_when_its_size_differs_from_its_image()
    {
        using var dir = new TempDirectory();
        TestImages.WriteRgbPng(dir.File("images", "a.png"), TestImages.Pattern(8, 6));
        var depth = dir.File("depth", "a.png");
        TestImages.WriteGray16(depth, 8, 5, (x, y) => 256);
        var dataset = DepthFolderDataset.Open("depth", Path.Combine(dir.Path, "images"), Path.Combine(dir.Path, "depth"));

        var e = Assert.Throws<DataFormatException>(() => dataset.Decode(0));

        Assert.Equal(depth, e.FilePath);
    }

    [Fact]
    public void Should_decode_image_and_targets_when_files_are_good()
    {
        using var dir = new TempDirectory();
        TestImages.WriteRgbPng(dir.File("images", "a.png"), TestImages.Pattern(4, 2));
        TestImages.WriteGray16(dir.File("depth", "a.png"), 4, 2, (x, y) => (ushort)(256 * (x + 1)));
        var dataset = DepthFolderDataset.Open("depth", Path.Combine(dir.Path, "images"), Path.Combine(dir.Path, "depth"));

        var sample = dataset.Decode(0);

        Assert.Equal(TestImages.Pattern(4, 2).Pixels, sample.Image.Pixels);
        Assert.Equal([1f, 2f, 3f, 4f, 1f, 2f, 3f, 4f], sample.Depth!.Metres);
    }

    [Fact]
    public void Should_name_the_json_and_image_entry_when_decoded_image_size_contradicts_coco()
    {
        using var dir = new TempDirectory();
        TestImages.WriteRgbPng(dir.File("images", "a.png"), TestImages.Pattern(8, 6));
        var json = dir.File("annotations.json");
        File.WriteAllText(json, new JsonObject
        {
            ["images"] = new JsonArray(new JsonObject { ["id"] = 1, ["file_name"] = "a.png", ["width"] = 16, ["height"] = 6 }),
            ["categories"] = new JsonArray(new JsonObject { ["id"] = 1, ["name"] = "x" }),
            ["annotations"] = new JsonArray(),
        }.ToJsonString());
        var dataset = CocoDetectionDataset.Open("det", json, Path.Combine(dir.Path, "images"));

        var e = Assert.Throws<DataFormatException>(() => dataset.Decode(0));

        Assert.Equal(json, e.FilePath);
        Assert.Equal("images[0]", e.JsonPath);
    }

    [Fact]
    public void Should_turn_coco_boxes_into_corners_and_drop_crowds_when_decoding()
    {
        using var dir = new TempDirectory();
        TestImages.WriteRgbPng(dir.File("images", "a.png"), TestImages.Pattern(8, 6));
        var json = dir.File("annotations.json");
        File.WriteAllText(json, new JsonObject
        {
            ["images"] = new JsonArray(new JsonObject { ["id"] = 1, ["file_name"] = "a.png" }),
            ["categories"] = new JsonArray(new JsonObject { ["id"] = 4, ["name"] = "x" }, new JsonObject { ["id"] = 2, ["name"] = "y" }),
            ["annotations"] = new JsonArray(
                new JsonObject { ["id"] = 1, ["image_id"] = 1, ["category_id"] = 4, ["bbox"] = new JsonArray(1, 2, 3, 4) },
                new JsonObject { ["id"] = 2, ["image_id"] = 1, ["category_id"] = 2, ["bbox"] = new JsonArray(0, 0, 8, 6), ["iscrowd"] = 1 }),
        }.ToJsonString());

        var sample = CocoDetectionDataset.Open("det", json, Path.Combine(dir.Path, "images")).Decode(0);

        Assert.Equal([new BoxAnnotation(1, 2, 4, 6, 1)], sample.Boxes);
    }
}
