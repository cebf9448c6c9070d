using System.Text.Json.Nodes;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Data;

/// <summary>Labels checked against the task's num_classes when a data set is opened for it (masks when decoded).</summary>
public sealed class DatasetLabelSpecs : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Should_take_the_count_and_key_from_the_task_when_built_for_a_task_definition()
    {
        var task = new TaskDefinition("shapes", TaskFamily.Detection, "coco:shapes", 7, new InputSize(64, 64), 4);

        Assert.Equal(new LabelRange(7, "tasks.shapes.num_classes"), LabelRange.For(task));
    }

    [Fact]
    public void Should_refuse_naming_key_folder_and_label_when_an_image_folder_has_more_classes_than_num_classes()
    {
        var root = ClassFolders("ant", "bee", "cat");

        var e = Assert.Throws<DataFormatException>(() => ImageFolderDataset.Open("cls", root, new LabelRange(2, "tasks.cls.num_classes")));

        Assert.Equal(Path.Combine(root, "cat"), e.FilePath);
        Assert.Contains("label 2", e.Message);
        Assert.Contains("tasks.cls.num_classes = 2", e.Message);
        Assert.Contains("3 class folders", e.Message);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void Should_open_an_image_folder_when_every_class_folder_gets_a_label_below_num_classes(int numClasses)
    {
        var root = ClassFolders("ant", "bee", "cat");

        var dataset = ImageFolderDataset.Open("cls", root, new LabelRange(numClasses, "tasks.cls.num_classes"));

        Assert.Equal(2, dataset.Decode(2).ClassLabel);
    }

    [Fact]
    public void Should_refuse_naming_key_json_path_and_category_when_coco_has_more_categories_than_num_classes()
    {
        // Categories are numbered by sorted id: 2 -> 0, 5 -> 1, 9 -> 2. Id 9 stands first in the JSON, so the
        // path must be its position in the file, not its class index.
        var json = Coco(categoryIds: [9, 2, 5]);

        var e = Assert.Throws<DataFormatException>(() =>
            CocoDetectionDataset.Open("det", json, Path.Combine(dir.Path, "images"), new LabelRange(2, "tasks.det.num_classes")));

        Assert.Equal(json, e.FilePath);
        Assert.Equal("categories[0].id", e.JsonPath);
        Assert.Contains("category id 9", e.Message);
        Assert.Contains("class index 2", e.Message);
        Assert.Contains("tasks.det.num_classes = 2", e.Message);
    }

    [Fact]
    public void Should_open_coco_when_every_category_maps_below_num_classes()
    {
        var json = Coco(categoryIds: [9, 2, 5]);

        var dataset = CocoDetectionDataset.Open("det", json, Path.Combine(dir.Path, "images"), new LabelRange(3, "tasks.det.num_classes"));

        Assert.Equal([new BoxAnnotation(1, 1, 3, 3, 2)], dataset.Decode(0).Boxes);
    }

    [Fact]
    public void Should_refuse_naming_key_mask_pixel_and_value_when_a_mask_label_is_not_below_num_classes()
    {
        // Opening does not decode every mask (a large set has tens of thousands); the decode that meets one refuses it.
        var (images, masks) = SegmentationPairs(badLabel: 3, badPixel: (5, 2));
        var dataset = SegmentationFolderDataset.Open("seg", images, masks, new LabelRange(3, "tasks.seg.num_classes"));
        Assert.NotNull(dataset.Decode(0).Mask);

        var e = Assert.Throws<DataFormatException>(() => dataset.Decode(1));

        Assert.Equal(Path.Combine(masks, "1.png"), e.FilePath);
        Assert.Contains("pixel (5, 2) has label 3", e.Message);
        Assert.Contains("tasks.seg.num_classes = 3", e.Message);
    }

    [Fact]
    public void Should_accept_the_ignore_label_when_decoding_a_mask_for_a_task()
    {
        var (images, masks) = SegmentationPairs(badLabel: LabelMask.Ignore, badPixel: (5, 2));
        var dataset = SegmentationFolderDataset.Open("seg", images, masks, new LabelRange(3, "tasks.seg.num_classes"));

        var mask = dataset.Decode(1).Mask!;

        Assert.Equal(LabelMask.Ignore, mask.Labels[(2 * mask.Width) + 5]);
        Assert.Equal(2, mask.Labels[0]);
    }

    [Fact]
    public void Should_name_file_sample_index_and_key_when_the_loader_meets_a_bad_mask_label()
    {
        var (images, masks) = SegmentationPairs(badLabel: 7, badPixel: (0, 0));
        var dataset = SegmentationFolderDataset.Open("seg", images, masks, new LabelRange(3, "tasks.seg.num_classes"));
        using var loader = new PrefetchingLoader(dataset, AugmentationOptions.Dense(8, 8), new LoaderOptions { NumWorkers = 1, TimeoutSeconds = 20 });

        var e = Assert.Throws<DataFormatException>(() => loader.Get(0, [0, 1]));

        Assert.Equal(Path.Combine(masks, "1.png"), e.FilePath);
        Assert.Contains("sample 1 of seg", e.Message);
        Assert.Contains("label 7", e.Message);
        Assert.Contains("tasks.seg.num_classes", e.Message);
    }

    [Fact]
    public void Should_name_the_sample_index_when_the_loader_meets_a_corrupt_image()
    {
        var (images, masks) = SegmentationPairs(badLabel: 0, badPixel: (0, 0));
        TestImages.WriteGarbage(Path.Combine(images, "1.png"));
        var dataset = SegmentationFolderDataset.Open("seg", images, masks);
        using var loader = new PrefetchingLoader(dataset, AugmentationOptions.Dense(8, 8), new LoaderOptions { NumWorkers = 1, TimeoutSeconds = 20 });

        var e = Assert.Throws<DataFormatException>(() => loader.Get(0, [1]));

        Assert.Equal(Path.Combine(images, "1.png"), e.FilePath);
        Assert.Contains("sample 1 of seg", e.Message);
    }

    /// <summary>root/&lt;name&gt;/0.png for each class name.</summary>
    private string ClassFolders(params string[] names)
    {
        foreach (var name in names)
        {
            TestImages.WriteRgbPng(dir.File("classes", name, "0.png"), TestImages.Pattern(4, 4));
        }
        return Path.Combine(dir.Path, "classes");
    }

    /// <summary>One 4 x 4 image with one box of the category listed last, under categories with the given ids.</summary>
    private string Coco(long[] categoryIds)
    {
        TestImages.WriteRgbPng(dir.File("images", "a.png"), TestImages.Pattern(4, 4));
        var json = dir.File("annotations.json");
        File.WriteAllText(json, new JsonObject
        {
            ["images"] = new JsonArray(new JsonObject { ["id"] = 1, ["file_name"] = "a.png" }),
            ["categories"] = new JsonArray([.. categoryIds.Select(id => (JsonNode)new JsonObject { ["id"] = id, ["name"] = $"c{id}" })]),
            ["annotations"] = new JsonArray(
                new JsonObject { ["id"] = 1, ["image_id"] = 1, ["category_id"] = categoryIds.Max(), ["bbox"] = new JsonArray(1, 1, 2, 2) }),
        }.ToJsonString());
        return json;
    }

    /// <summary>Two 8 x 8 pairs with labels 2 everywhere, except <paramref name="badPixel"/> of mask 1, which holds <paramref name="badLabel"/>.</summary>
    private (string Images, string Masks) SegmentationPairs(byte badLabel, (int X, int Y) badPixel)
    {
        for (var i = 0; i < 2; i++)
        {
            TestImages.WriteRgbPng(dir.File("images", $"{i}.png"), TestImages.Pattern(8, 8, seed: i));
            var sample = i;
            TestImages.WriteGray8(dir.File("masks", $"{i}.png"), 8, 8, (x, y) => sample == 1 && (x, y) == badPixel ? badLabel : (byte)2);
        }
        return (Path.Combine(dir.Path, "images"), Path.Combine(dir.Path, "masks"));
    }
}
