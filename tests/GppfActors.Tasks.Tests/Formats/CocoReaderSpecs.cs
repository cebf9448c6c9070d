using System.Text.Json.Nodes;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Formats;

public class CocoReaderSpecs : IDisposable
{
    private readonly TempDirectory dir = new();

    public CocoReaderSpecs()
    {
        TestImages.WriteRgbPng(dir.File("images", "a.png"), TestImages.Pattern(20, 10));
        TestImages.WriteRgbPng(dir.File("images", "b.png"), TestImages.Pattern(20, 10));
    }

    private string ImageRoot => Path.Combine(dir.Path, "images");

    private string JsonPath => Path.Combine(dir.Path, "annotations.json");

    public void Dispose() => dir.Dispose();

    /// <summary>A valid file: two images, sparse category ids out of order, one crowd and one RLE annotation.</summary>
    private static JsonObject Valid() => new()
    {
        ["images"] = new JsonArray(
            new JsonObject { ["id"] = 7, ["file_name"] = "a.png", ["width"] = 20, ["height"] = 10 },
            new JsonObject { ["id"] = 9, ["file_name"] = "b.png" }),
        ["categories"] = new JsonArray(
            new JsonObject { ["id"] = 90, ["name"] = "toothbrush" },
            new JsonObject { ["id"] = 1, ["name"] = "person" }),
        ["annotations"] = new JsonArray(
            new JsonObject
            {
                ["id"] = 1,
                ["image_id"] = 7,
                ["category_id"] = 90,
                ["bbox"] = new JsonArray(1.5, 2, 3, 4),
                ["segmentation"] = new JsonArray(new JsonArray(1.5, 2, 4.5, 2, 4.5, 6)),
                ["iscrowd"] = 0,
            },
            new JsonObject
            {
                ["id"] = 2,
                ["image_id"] = 7,
                ["category_id"] = 1,
                ["bbox"] = new JsonArray(0, 0, 5, 5),
                ["iscrowd"] = 1,
                ["segmentation"] = new JsonObject { ["counts"] = "5:i5", ["size"] = new JsonArray(10, 20) }
            },
            new JsonObject { ["id"] = 3, ["image_id"] = 9, ["category_id"] = 1, ["bbox"] = new JsonArray(10, 1, 2, 2) }),
    };

    private CocoDataset Read(JsonObject json)
    {
        File.WriteAllText(JsonPath, json.ToJsonString());
        return CocoReader.Read(JsonPath, ImageRoot);
    }

    private DataFormatException Fails(JsonObject json) => Assert.Throws<DataFormatException>(() => Read(json));

    [Fact]
    public void Should_resolve_images_categories_and_annotations_when_file_is_valid()
    {
        var coco = Read(Valid());

        Assert.Equal(["person", "toothbrush"], coco.Categories.Select(c => c.Name));
        Assert.Equal([7L, 9L], coco.Images.Select(i => i.Id));
        Assert.Equal(Path.Combine(ImageRoot, "a.png"), coco.Images[0].FilePath);
        Assert.Equal((20, 10), (coco.Images[0].Width!.Value, coco.Images[0].Height!.Value));
        Assert.Null(coco.Images[1].Width);
        var first = coco.Images[0].Objects[0];
        Assert.Equal((1, 1.5f, 2f, 3f, 4f, false), (first.ClassIndex, first.X, first.Y, first.Width, first.Height, first.IsCrowd));
        Assert.Equal([1.5f, 2f, 4.5f, 2f, 4.5f, 6f], first.Polygons.Single());
        Assert.True(coco.Images[0].Objects[1].IsCrowd);
        Assert.Empty(coco.Images[0].Objects[1].Polygons);
        Assert.Equal([5L, 10L, 185L], coco.Images[0].Objects[1].Rle!.Runs);                    // pycocotools' string for these runs
        Assert.Equal(0, coco.Images[1].Objects.Single().ClassIndex);
    }

    [Fact]
    public void Should_decode_each_box_mask_from_its_polygon_or_RLE_and_skip_crowds_when_instance_masks_are_read()
    {
        var json = Valid();
        var annotations = json["annotations"]!.AsArray();
        annotations[0]!["segmentation"] = new JsonArray(new JsonArray(2, 1, 6, 1, 6, 4, 2, 4));  // pixels x 2..5, y 1..3
        annotations.Add(new JsonObject
        {
            ["id"] = 4,
            ["image_id"] = 7,
            ["category_id"] = 1,
            ["bbox"] = new JsonArray(10, 3, 1, 3),
            // Column-major runs: 10 full columns of 10 and 3 rows of column 10 are outside, then rows 3..5 inside.
            ["segmentation"] = new JsonObject { ["counts"] = new JsonArray(103, 3, 94), ["size"] = new JsonArray(10, 20) },
        });
        File.WriteAllText(JsonPath, json.ToJsonString());

        var sample = CocoDetectionDataset.Open("t", JsonPath, ImageRoot, instanceMasks: true).Decode(0);

        Assert.Equal(2, sample.Boxes!.Count);                                                  // the crowd is neither a box nor a mask
        Assert.Equal(2, sample.InstanceMasks!.Count);
        Assert.Equal(Inside(20, 10, (x, y) => x is >= 2 and <= 5 && y is >= 1 and <= 3), Pixels(sample.InstanceMasks[0]));
        Assert.Equal(Inside(20, 10, (x, y) => x == 10 && y is >= 3 and <= 5), Pixels(sample.InstanceMasks[1]));
        Assert.Equal(10f, sample.Boxes[1].X1);
        Assert.Null(CocoDetectionDataset.Open("t", JsonPath, ImageRoot).Decode(0).InstanceMasks);
    }

    [Fact]
    public void Should_name_file_and_field_when_RLE_runs_do_not_cover_the_image()
    {
        var json = Valid();
        json["annotations"]![1]!["segmentation"] = new JsonObject { ["counts"] = new JsonArray(5, 10), ["size"] = new JsonArray(10, 20) };

        var e = Assert.Throws<DataFormatException>(() => Read(json));

        Assert.Contains("annotations[1].segmentation.counts", e.Message);
        Assert.Contains(JsonPath, e.Message);
    }

    private static bool[] Inside(int width, int height, Func<int, int, bool> inside) =>
        [.. Enumerable.Range(0, width * height).Select(i => inside(i % width, i / width))];

    private static bool[] Pixels(CroppedMask mask) => mask.ToBinaryMask(20, 10).Pixels.ToArray();

    [Fact]
    public void Should_name_file_and_field_when_annotation_points_to_a_missing_image()
    {
        var json = Valid();
        json["annotations"]![2]!["image_id"] = 42;

        var e = Fails(json);

        Assert.Equal(JsonPath, e.FilePath);
        Assert.Equal("annotations[2].image_id", e.JsonPath);
        Assert.Equal($"{JsonPath}: annotations[2].image_id: no image with id 42", e.Message);
    }

    [Fact]
    public void Should_name_file_and_field_when_annotation_points_to_a_missing_category()
    {
        var json = Valid();
        json["annotations"]![0]!["category_id"] = 5;

        var e = Fails(json);

        Assert.Equal($"{JsonPath}: annotations[0].category_id: no category with id 5", e.Message);
    }

    [Fact]
    public void Should_name_file_and_field_when_image_file_does_not_exist()
    {
        var json = Valid();
        json["images"]![1]!["file_name"] = "nope.png";

        var e = Fails(json);

        Assert.Equal("images[1].file_name", e.JsonPath);
        Assert.Contains($"file not found: {Path.Combine(ImageRoot, "nope.png")}", e.Message);
    }

    [Fact]
    public void Should_name_file_and_field_when_bbox_is_not_four_numbers()
    {
        var json = Valid();
        json["annotations"]![1]!["bbox"] = new JsonArray(1, 2, 3);

        var e = Fails(json);

        Assert.Equal("annotations[1].bbox", e.JsonPath);
    }

    [Fact]
    public void Should_name_file_and_field_when_a_polygon_has_an_odd_number_of_coordinates()
    {
        var json = Valid();
        json["annotations"]![0]!["segmentation"] = new JsonArray(new JsonArray(1, 2, 3, 4, 5, 6, 7));

        var e = Fails(json);

        Assert.Equal("annotations[0].segmentation[0]", e.JsonPath);
    }

    [Fact]
    public void Should_name_file_and_field_when_image_ids_repeat()
    {
        var json = Valid();
        json["images"]![1]!["id"] = 7;

        var e = Fails(json);

        Assert.Equal("images[1].id", e.JsonPath);
        Assert.Contains("duplicate image id 7", e.Message);
    }

    [Fact]
    public void Should_name_file_and_field_when_a_required_array_is_missing()
    {
        var json = Valid();
        json.Remove("categories");

        var e = Fails(json);

        Assert.Equal("categories", e.JsonPath);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void Should_name_file_and_line_when_json_is_malformed()
    {
        File.WriteAllText(JsonPath, "{\n  \"images\": [\n    {\"id\": 1,,}\n  ]\n}");

        var e = Assert.Throws<DataFormatException>(() => CocoReader.Read(JsonPath, ImageRoot));

        Assert.Equal(JsonPath, e.FilePath);
        Assert.Contains("line 3", e.Message);
    }

    [Fact]
    public void Should_name_the_file_when_annotation_file_is_missing()
    {
        var e = Assert.Throws<DataFormatException>(() => CocoReader.Read(JsonPath, ImageRoot));

        Assert.Equal(JsonPath, e.FilePath);
        Assert.Contains("file not found", e.Message);
    }

    [Fact]
    public void Should_round_trip_through_the_writer_when_written_by_coco_writer()
    {
        var document = new CocoDocument(
            [new CocoImageEntry(1, "a.png", 20, 10)],
            [new CocoCategoryEntry(3, "ring")],
            [new CocoAnnotationEntry(1, 1, 3, [1, 2, 3, 4], 6, 0, [[1, 2, 4, 2, 4, 6]])]);

        CocoWriter.Write(JsonPath, document);
        var coco = CocoReader.Read(JsonPath, ImageRoot);

        var o = coco.Images.Single().Objects.Single();
        Assert.Equal("ring", coco.Categories.Single().Name);
        Assert.Equal((1f, 2f, 3f, 4f), (o.X, o.Y, o.Width, o.Height));
        Assert.Equal([1f, 2f, 4f, 2f, 4f, 6f], o.Polygons.Single());
    }
}
