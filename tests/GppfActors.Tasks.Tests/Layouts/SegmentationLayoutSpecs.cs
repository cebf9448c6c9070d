using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Layouts;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Layouts;

/// <summary>VOC 2012, ADE20K and COCO-Stuff 164k in the folders their archives extract to.</summary>
public class SegmentationLayoutSpecs
{
    private static readonly LabelRange Voc = new(21, "tasks.voc.num_classes");

    [Fact]
    public void Should_read_voc_ids_from_the_split_list_and_palette_indices_as_classes()
    {
        using var dir = new TempDirectory();
        WriteVoc(dir, "2007_000032", LayoutFixtures.Mask(4, 2, 0, 1, 15, 255, 20, 20, 0, 0));
        WriteVoc(dir, "2007_000039", LayoutFixtures.Mask(4, 2, new byte[8]));
        WriteVoc(dir, "2007_000063", LayoutFixtures.Mask(4, 2, new byte[8]));
        File.WriteAllLines(dir.File("VOC2012", "ImageSets", "Segmentation", "train.txt"), ["2007_000032", "2007_000039"]);
        File.WriteAllLines(dir.File("VOC2012", "ImageSets", "Segmentation", "val.txt"), ["2007_000063"]);

        var train = VocLayout.Open(new LayoutRequest("voc/train", Path.Combine(dir.Path, "VOC2012"), "train", Voc));
        var val = VocLayout.Open(new LayoutRequest("voc/val", Path.Combine(dir.Path, "VOC2012"), "val", Voc));
        var sample = train.Decode(0);

        Assert.Equal(2, train.Count);
        Assert.Equal(1, val.Count);
        Assert.EndsWith(Path.Combine("JPEGImages", "2007_000032.jpg"), sample.SourcePath);
        Assert.Equal(new byte[] { 0, 1, 15, 255, 20, 20, 0, 0 }, sample.Mask!.Labels);
    }

    [Fact]
    public void Should_name_the_list_file_and_line_when_a_listed_id_has_no_mask()
    {
        using var dir = new TempDirectory();
        WriteVoc(dir, "2007_000032", LayoutFixtures.Mask(4, 2, new byte[8]));
        LayoutFixtures.Jpeg(dir.File("VOC2012", "JPEGImages", "2007_000039.jpg"), 4, 2);
        var list = dir.File("VOC2012", "ImageSets", "Segmentation", "train.txt");
        File.WriteAllLines(list, ["2007_000032", "2007_000039"]);

        var e = Assert.Throws<DataFormatException>(() => VocLayout.Open(new LayoutRequest("voc/train", Path.Combine(dir.Path, "VOC2012"), "train", Voc)));

        Assert.Equal(list, e.FilePath);
        Assert.Equal(2, e.Line);
        Assert.StartsWith($"{list}:2:", e.Message);
        Assert.Contains(Path.Combine("SegmentationClass", "2007_000039.png"), e.Message);
    }

    [Fact]
    public void Should_name_the_mask_when_a_voc_palette_index_is_no_class()
    {
        using var dir = new TempDirectory();
        var mask = WriteVoc(dir, "2007_000032", LayoutFixtures.Mask(2, 1, 3, 21));
        File.WriteAllLines(dir.File("VOC2012", "ImageSets", "Segmentation", "val.txt"), ["2007_000032"]);
        var dataset = VocLayout.Open(new LayoutRequest("voc/val", Path.Combine(dir.Path, "VOC2012"), "val", Voc));

        var e = Assert.Throws<DataFormatException>(() => dataset.Decode(0));

        Assert.Equal(mask, e.FilePath);
        Assert.Contains("21", e.Detail);
    }

    [Fact]
    public void Should_ignore_ade20k_label_zero_and_shift_the_others_down()
    {
        using var dir = new TempDirectory();
        var root = Path.Combine(dir.Path, "ADEChallengeData2016");
        LayoutFixtures.Jpeg(dir.File("ADEChallengeData2016", "images", "training", "ADE_train_00000001.jpg"), 3, 2);
        LabelMaskFile.Write(dir.File("ADEChallengeData2016", "annotations", "training", "ADE_train_00000001.png"), LayoutFixtures.Mask(3, 2, 0, 1, 2, 150, 75, 0));
        LayoutFixtures.Jpeg(dir.File("ADEChallengeData2016", "images", "validation", "ADE_val_00000001.jpg"), 3, 2);
        LabelMaskFile.Write(dir.File("ADEChallengeData2016", "annotations", "validation", "ADE_val_00000001.png"), LayoutFixtures.Mask(3, 2, new byte[6]));

        var train = Ade20kLayout.Open(new LayoutRequest("ade/train", root, "train", new LabelRange(150, "tasks.ade20k.num_classes")));
        var val = Ade20kLayout.Open(new LayoutRequest("ade/val", root, "val", new LabelRange(150, "tasks.ade20k.num_classes")));

        Assert.Equal(new byte[] { 255, 0, 1, 149, 74, 255 }, train.Decode(0).Mask!.Labels);
        Assert.Equal(Enumerable.Repeat((byte)255, 6), val.Decode(0).Mask!.Labels);
    }

    [Fact]
    public void Should_name_the_missing_ade20k_annotation()
    {
        using var dir = new TempDirectory();
        LayoutFixtures.Jpeg(dir.File("ade", "images", "validation", "ADE_val_00000007.jpg"), 3, 2);
        Directory.CreateDirectory(Path.Combine(dir.Path, "ade", "annotations", "validation"));

        var e = Assert.Throws<DataFormatException>(() => Ade20kLayout.Open(new LayoutRequest("ade/val", Path.Combine(dir.Path, "ade"), "val")));

        Assert.Equal(Path.Combine(dir.Path, "ade", "annotations", "validation", "ADE_val_00000007.png"), e.FilePath);
    }

    [Fact]
    public void Should_map_coco_stuff_ids_to_the_171_benchmark_classes()
    {
        using var dir = new TempDirectory();
        LayoutFixtures.Jpeg(dir.File("cocostuff", "images", "val2017", "000000000139.jpg"), 3, 2);
        LabelMaskFile.Write(dir.File("cocostuff", "stuffthingmaps", "val2017", "000000000139.png"), LayoutFixtures.Mask(3, 2, 0, 12, 91, 181, 255, 26));
        LayoutFixtures.Jpeg(dir.File("cocostuff", "images", "val2017", "000000000285.jpg"), 3, 2);
        var bad = dir.File("cocostuff", "stuffthingmaps", "val2017", "000000000285.png");
        LabelMaskFile.Write(bad, LayoutFixtures.Mask(3, 2, 0, 0, 0, 0, 0, 11));

        var dataset = CocoStuffLayout.Open(new LayoutRequest("stuff/val", Path.Combine(dir.Path, "cocostuff"), "val", new LabelRange(171, "tasks.cocostuff.num_classes")));

        Assert.Equal(2, dataset.Count);
        Assert.Equal(new byte[] { 0, 11, 80, 170, 255, 24 }, dataset.Decode(0).Mask!.Labels);
        var e = Assert.Throws<DataFormatException>(() => dataset.Decode(1));
        Assert.Equal(bad, e.FilePath);
        Assert.Contains("holds 11", e.Message);
    }

    private static string WriteVoc(TempDirectory dir, string id, LabelMask mask)
    {
        LayoutFixtures.Jpeg(dir.File("VOC2012", "JPEGImages", id + ".jpg"), mask.Width, mask.Height);
        var path = dir.File("VOC2012", "SegmentationClass", id + ".png");
        PalettePngFile.Write(path, mask, PalettePngFile.VocPalette);
        return path;
    }
}
