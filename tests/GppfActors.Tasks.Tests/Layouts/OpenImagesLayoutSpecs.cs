using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Layouts;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Layouts;

public class OpenImagesLayoutSpecs
{
    private const string Header = "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside";
    private static readonly LabelRange Labels = new(3, "tasks.openimages.num_classes");

    [Fact]
    public void Should_scale_normalised_boxes_to_pixels_and_keep_group_boxes_out_of_the_targets()
    {
        using var dir = new TempDirectory();
        var root = WriteClasses(dir);
        LayoutFixtures.Jpeg(dir.File("oi", "validation", "0001eeaf4aed83f9.jpg"), 20, 10);
        LayoutFixtures.Jpeg(dir.File("oi", "validation", "000595fe6fee6369.jpg"), 10, 10);
        File.WriteAllLines(dir.File("oi", "validation-annotations-bbox.csv"),
        [
            Header,
            "0001eeaf4aed83f9,xclick,/m/0cmf2,1,0.25,0.75,0.5,1,0,0,0,0,0",
            "000595fe6fee6369,xclick,/m/02wbm,1,0,1,0,1,0,0,1,0,0",
            "000595fe6fee6369,xclick,/m/0k4j,1,0.5,0.75,0.25,0.5,0,0,0,0,0",
        ]);

        var dataset = (OpenImagesDataset)OpenImagesLayout.Open(new LayoutRequest("oi/val", root, "val", Labels));

        Assert.Equal(2, dataset.Count);
        Assert.Equal(["Airplane", "Food, prepared", "Car"], dataset.ClassNames);
        Assert.Equal(1, dataset.NumGroupOfBoxes);
        Assert.Equal([new BoxAnnotation(5, 5, 15, 10, 0)], dataset.Decode(0).Boxes!);
        Assert.Equal([new BoxAnnotation(5, 2.5f, 7.5f, 5, 2)], dataset.Decode(1).Boxes!);
    }

    [Fact]
    public void Should_name_the_csv_and_line_of_an_unknown_class_or_a_bad_coordinate()
    {
        using var dir = new TempDirectory();
        var root = WriteClasses(dir);
        LayoutFixtures.Jpeg(dir.File("oi", "train", "a.jpg"), 4, 4);
        var csv = dir.File("oi", "oidv6-train-annotations-bbox.csv");
        File.WriteAllLines(csv, [Header, "a,xclick,/m/0cmf2,1,0.1,0.6,0.2,0.8,0,0,0,0,0", "a,xclick,/m/09999,1,0.1,0.6,0.2,0.8,0,0,0,0,0", "a,xclick,/m/0k4j,1,0.1,1.6,0.2,0.8,0,0,0,0,0"]);
        var problems = new List<DataFormatException>();

        var e = Assert.Throws<DataFormatException>(() => OpenImagesLayout.Open(new LayoutRequest("oi/train", root, "train", Labels)));
        var dataset = OpenImagesLayout.Open(new LayoutRequest("oi/train", root, "train", Labels, problems.Add));

        Assert.Equal((csv, 3), (e.FilePath, e.Line));
        Assert.Contains("/m/09999", e.Message);
        Assert.Equal([3, 4], problems.Select(p => p.Line!.Value));
        Assert.Contains("XMax", problems[1].Message);
        Assert.Single(dataset.Decode(0).Boxes!);
    }

    [Fact]
    public void Should_name_the_csv_line_of_a_box_whose_image_is_missing()
    {
        using var dir = new TempDirectory();
        var root = WriteClasses(dir);
        Directory.CreateDirectory(Path.Combine(root, "validation"));
        var csv = dir.File("oi", "validation-annotations-bbox.csv");
        File.WriteAllLines(csv, [Header, "ffff,xclick,/m/0cmf2,1,0.1,0.6,0.2,0.8,0,0,0,0,0"]);

        var e = Assert.Throws<DataFormatException>(() => OpenImagesLayout.Open(new LayoutRequest("oi/val", root, "val", Labels)));

        Assert.Equal((csv, 2), (e.FilePath, e.Line));
        Assert.Contains(Path.Combine("validation", "ffff.jpg"), e.Message);
    }

    private static string WriteClasses(TempDirectory dir)
    {
        File.WriteAllLines(dir.File("oi", "class-descriptions-boxable.csv"), ["/m/0cmf2,Airplane", "/m/02wbm,\"Food, prepared\"", "/m/0k4j,Car"]);
        return Path.Combine(dir.Path, "oi");
    }
}
