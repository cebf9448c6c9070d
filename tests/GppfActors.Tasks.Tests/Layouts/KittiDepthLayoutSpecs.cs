using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Layouts;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Layouts;

public class KittiDepthLayoutSpecs
{
    private const string Drive = "2011_09_26_drive_0002_sync";

    [Fact]
    public void Should_pair_annotated_depth_with_the_raw_drive_image_and_read_value_over_256_as_metres()
    {
        using var dir = new TempDirectory();
        RgbImageFile.WritePng(dir.File("kitti", "raw", "2011_09_26", Drive, "image_02", "data", "0000000005.png"), LayoutFixtures.Flat(3, 1));
        DepthPngFile.Write(dir.File("kitti", "data_depth_annotated", "train", Drive, "proj_depth", "groundtruth", "image_02", "0000000005.png"),
            new DepthMap(3, 1, [0f, 5f, 10.5f]));

        var dataset = KittiDepthLayout.Open(new LayoutRequest("kitti/train", Path.Combine(dir.Path, "kitti"), "train"));
        var sample = dataset.Decode(0);

        Assert.Equal(1, dataset.Count);
        Assert.EndsWith(Path.Combine("image_02", "data", "0000000005.png"), sample.SourcePath);
        Assert.Equal([0f, 5f, 10.5f], sample.Depth!.Metres);
    }

    [Fact]
    public void Should_name_the_missing_raw_image_of_a_depth_map()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(dir.Path, "kitti", "raw"));
        DepthPngFile.Write(dir.File("kitti", "data_depth_annotated", "val", Drive, "proj_depth", "groundtruth", "image_03", "0000000009.png"),
            new DepthMap(2, 1, [1f, 2f]));

        var e = Assert.Throws<DataFormatException>(() => KittiDepthLayout.Open(new LayoutRequest("kitti/val", Path.Combine(dir.Path, "kitti"), "val")));

        Assert.Equal(Path.Combine(dir.Path, "kitti", "raw", "2011_09_26", Drive, "image_03", "data", "0000000009.png"), e.FilePath);
    }
}
