using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Layouts;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Layouts;

public class DatasetLayoutsSpecs
{
    [Fact]
    public void Should_open_the_layout_the_dataset_prefix_names_relative_to_the_data_root()
    {
        using var dir = new TempDirectory();
        LayoutFixtures.Jpeg(dir.File("ade", "images", "validation", "a.jpg"), 2, 1);
        LabelMaskFile.Write(dir.File("ade", "annotations", "validation", "a.png"), LayoutFixtures.Mask(2, 1, 0, 3));
        var task = Task("ade20k:ade", TaskFamily.SemanticSegmentation, 150);

        var dataset = DatasetLayouts.Open(task, dir.Path, "val");

        Assert.Equal("seg/val", dataset.Name);
        Assert.Equal(new byte[] { 255, 2 }, dataset.Decode(0).Mask!.Labels);
    }

    [Fact]
    public void Should_keep_the_project_forms_reading_folder_split_subfolders()
    {
        using var dir = new TempDirectory();
        LayoutFixtures.Jpeg(dir.File("shapes", "val", "images", "a.jpg"), 2, 1);
        LabelMaskFile.Write(dir.File("shapes", "val", "masks", "a.png"), LayoutFixtures.Mask(2, 1, 0, 3));

        var dataset = DatasetLayouts.Open(Task("mask-folder:shapes", TaskFamily.SemanticSegmentation, 4), dir.Path, "val");

        Assert.Equal(new byte[] { 0, 3 }, dataset.Decode(0).Mask!.Labels);
    }

    [Fact]
    public void Should_list_the_layouts_when_the_prefix_is_unknown_and_refuse_a_layout_of_another_family()
    {
        var unknown = Assert.Throws<ArgumentException>(() => DatasetLayouts.Parse(Task("pascal:voc", TaskFamily.SemanticSegmentation, 21)));
        var family = Assert.Throws<ArgumentException>(() => DatasetLayouts.Parse(Task("voc:voc", TaskFamily.Detection, 21)));

        Assert.Contains("tasks.seg.dataset", unknown.Message);
        Assert.Contains("voc, kitti-depth", unknown.Message);
        Assert.Contains("tasks.seg.dataset", family.Message);
        Assert.Contains("SemanticSegmentation", family.Message);
    }

    [Fact]
    public void Should_feed_instance_segmentation_from_coco_and_lvis_but_not_from_layouts_without_masks()
    {
        Assert.Equal("lvis", DatasetLayouts.Parse(Task("lvis:coco", TaskFamily.InstanceSegmentation, 1203)).Layout.Prefix);
        Assert.Equal("coco", DatasetLayouts.Parse(Task("coco:coco", TaskFamily.InstanceSegmentation, 80)).Layout.Prefix);

        var e = Assert.Throws<ArgumentException>(() => DatasetLayouts.Parse(Task("objects365:o365", TaskFamily.InstanceSegmentation, 365)));

        Assert.Contains("InstanceSegmentation", e.Message);
    }

    private static TaskDefinition Task(string dataset, TaskFamily family, int numClasses) =>
        new("seg", family, dataset, numClasses, new InputSize(32, 32), 2);
}
