using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Layouts;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Layouts;

/// <summary>COCO 2017, LVIS v1 and Objects365: COCO JSON in the places and dialects each set ships.</summary>
public class CocoLayoutSpecs
{
    private static readonly LabelRange Labels = new(3, "tasks.det.num_classes");

    [Fact]
    public void Should_read_coco_2017_instances_json_beside_its_image_folder()
    {
        using var dir = new TempDirectory();
        LayoutFixtures.Jpeg(dir.File("coco", "val2017", "000000000139.jpg"), 16, 8);
        File.WriteAllText(dir.File("coco", "annotations", "instances_val2017.json"), """
            { "images": [ { "id": 139, "file_name": "000000000139.jpg", "width": 16, "height": 8 } ],
              "categories": [ { "id": 1, "name": "person" }, { "id": 3, "name": "car" } ],
              "annotations": [ { "id": 5, "image_id": 139, "category_id": 3, "bbox": [2, 1, 4, 3], "iscrowd": 0 } ] }
            """);

        var dataset = CocoLayouts.Coco.Open(new LayoutRequest("coco/val", Path.Combine(dir.Path, "coco"), "val", Labels));

        Assert.Equal([new BoxAnnotation(2, 1, 6, 4, 1)], dataset.Decode(0).Boxes!);
    }

    [Fact]
    public void Should_find_lvis_images_by_coco_url_and_read_the_per_image_category_lists()
    {
        using var dir = new TempDirectory();
        LayoutFixtures.Jpeg(dir.File("coco", "train2017", "000000391895.jpg"), 16, 8);
        File.WriteAllText(dir.File("coco", "annotations", "lvis_v1_val.json"), """
            { "images": [ { "id": 391895, "coco_url": "http://images.cocodataset.org/train2017/000000391895.jpg", "width": 16, "height": 8,
                            "not_exhaustive_category_ids": [3], "neg_category_ids": [1, 2] } ],
              "categories": [ { "id": 1, "name": "aerosol_can" }, { "id": 2, "name": "air_conditioner" }, { "id": 3, "name": "airplane" } ],
              "annotations": [ { "id": 1, "image_id": 391895, "category_id": 3, "bbox": [0, 0, 8, 4] } ] }
            """);

        var dataset = (CocoDetectionDataset)CocoLayouts.Lvis.Open(new LayoutRequest("lvis/val", Path.Combine(dir.Path, "coco"), "val", Labels));
        var coco = CocoReader.Read(Path.Combine(dir.Path, "coco", "annotations", "lvis_v1_val.json"), Path.Combine(dir.Path, "coco"), CocoFlavor.Lvis);

        Assert.Equal(Path.Combine(dir.Path, "coco", "train2017", "000000391895.jpg"), dataset.SourceOf(0));
        Assert.Equal([new BoxAnnotation(0, 0, 8, 4, 2)], dataset.Decode(0).Boxes!);
        Assert.Equal([2], coco.Images[0].NotExhaustiveClassIndices);
        Assert.Equal([0, 1], coco.Images[0].NegativeClassIndices);
    }

    [Fact]
    public void Should_name_the_field_of_an_lvis_negative_category_that_does_not_exist()
    {
        using var dir = new TempDirectory();
        LayoutFixtures.Jpeg(dir.File("coco", "val2017", "000000000001.jpg"), 4, 4);
        var json = dir.File("coco", "lvis_v1_val.json");
        File.WriteAllText(json, """
            { "images": [ { "id": 1, "coco_url": "http://images.cocodataset.org/val2017/000000000001.jpg",
                            "not_exhaustive_category_ids": [], "neg_category_ids": [1, 9] } ],
              "categories": [ { "id": 1, "name": "aerosol_can" } ],
              "annotations": [] }
            """);

        var e = Assert.Throws<DataFormatException>(() => CocoLayouts.Lvis.Open(new LayoutRequest("lvis/val", Path.Combine(dir.Path, "coco"), "val", Labels)));

        Assert.Equal(json, e.FilePath);
        Assert.Equal("images[0].neg_category_ids[1]", e.JsonPath);
    }

    [Fact]
    public void Should_resolve_objects365_v2_file_names_to_the_extracted_patch_folders()
    {
        using var dir = new TempDirectory();
        LayoutFixtures.Jpeg(dir.File("o365", "train", "patch8", "objects365_v1_00420917.jpg"), 8, 8);
        File.WriteAllText(dir.File("o365", "annotations", "zhiyuan_objv2_train.json"), """
            { "images": [ { "id": 420917, "file_name": "images/v1/patch8/objects365_v1_00420917.jpg", "width": 8, "height": 8 } ],
              "categories": [ { "id": 1, "name": "Person" }, { "id": 2, "name": "Sneakers" } ],
              "annotations": [ { "id": 1, "image_id": 420917, "category_id": 2, "bbox": [1, 2, 3, 4], "iscrowd": 0 } ] }
            """);

        var dataset = CocoLayouts.Objects365.Open(new LayoutRequest("o365/train", Path.Combine(dir.Path, "o365"), "train", Labels));

        Assert.Equal(Path.Combine(dir.Path, "o365", "train", "patch8", "objects365_v1_00420917.jpg"), dataset.SourceOf(0));
        Assert.Equal([new BoxAnnotation(1, 2, 4, 6, 1)], dataset.Decode(0).Boxes!);
    }

    [Fact]
    public void Should_report_every_missing_coco_image_when_asked_to_report()
    {
        using var dir = new TempDirectory();
        LayoutFixtures.Jpeg(dir.File("coco", "val2017", "a.jpg"), 4, 4);
        File.WriteAllText(dir.File("coco", "annotations", "instances_val2017.json"), """
            { "images": [ { "id": 1, "file_name": "a.jpg" }, { "id": 2, "file_name": "b.jpg" }, { "id": 3, "file_name": "c.jpg" } ],
              "categories": [ { "id": 1, "name": "person" } ],
              "annotations": [ { "id": 1, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1] } ] }
            """);
        var problems = new List<DataFormatException>();

        var dataset = CocoLayouts.Coco.Open(new LayoutRequest("coco/val", Path.Combine(dir.Path, "coco"), "val", Labels, problems.Add));

        Assert.Equal(1, dataset.Count);
        Assert.Equal(["images[1].file_name", "images[2].file_name"], problems.Select(p => p.JsonPath));
        Assert.Contains("b.jpg", problems[0].Message);
    }
}
