using GppfActors.Tasks.Formats;
using Xunit;

namespace GppfActors.Host.Tests;

/// <summary>
/// `gppf datasets check` on a job whose tasks read VOC, ADE20K and ImageNet layouts written here: it counts samples
/// and classes per split, names the one broken file and exits non-zero, then passes once the file is repaired.
/// </summary>
public sealed class DatasetsCheckProcessSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("gppf-datasets-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Should_name_the_broken_file_and_exit_non_zero_then_pass_when_it_is_repaired()
    {
        var data = Path.Combine(_root, "data");
        var voc = Path.Combine(data, "VOC2012");
        WriteVoc(voc, "2007_000032", [0, 15, 15, 0]);
        WriteVoc(voc, "2007_000039", [0, 1, 255, 0]);
        var broken = WriteVoc(voc, "2007_000063", [0, 0, 0, 0]);
        File.WriteAllBytes(broken, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);
        Write(Path.Combine(voc, "ImageSets", "Segmentation", "train.txt"), "2007_000032\n2007_000039\n");
        Write(Path.Combine(voc, "ImageSets", "Segmentation", "val.txt"), "2007_000063\n");
        var ade = Path.Combine(data, "ADEChallengeData2016");
        foreach (var (split, name) in new[] { ("training", "ADE_train_00000001"), ("validation", "ADE_val_00000001") })
        {
            RgbImageFile.WriteJpeg(Folder(ade, "images", split, name + ".jpg"), Image(2, 2));
            LabelMaskFile.Write(Folder(ade, "annotations", split, name + ".png"), new LabelMask(2, 2, [0, 1, 2, 2]));
        }
        var imagenet = Path.Combine(data, "imagenet");
        Write(Path.Combine(imagenet, "LOC_synset_mapping.txt"), "n01440764 tench\nn01443537 goldfish\nn01484850 great white shark\n");
        foreach (var split in new[] { "train", "val" })
        {
            RgbImageFile.WriteJpeg(Folder(imagenet, split, "n01443537", "a.JPEG"), Image(4, 4));
        }
        var job = Path.Combine(_root, "job.json");
        Write(job, Job(data));

        var bad = GppfProcess.Run(_root, ["datasets", "check", "--job", job], timeoutSeconds: 120);

        Assert.True(bad.ExitCode == 1, bad.Output);
        Assert.Contains($"problem: {broken}: ", bad.Output);
        Assert.Contains("voc/train  voc:VOC2012  2 samples, 3 of 21 classes seen, 0 problems", bad.Output);
        Assert.Contains("voc/val  voc:VOC2012  1 samples, 0 of 21 classes seen, 1 problems", bad.Output);
        Assert.Contains("ade/train  ade20k:ADEChallengeData2016  1 samples, 2 of 150 classes seen, 0 problems", bad.Output);
        Assert.Contains("in1k/val  imagenet:imagenet  1 samples, 1 of 3 classes seen, 0 problems", bad.Output);
        Assert.Contains("1 problems in 1 of 6 splits", bad.Output);

        WriteVoc(voc, "2007_000063", [0, 0, 0, 0]);
        var good = GppfProcess.Run(_root, ["datasets", "check", "--job", job], timeoutSeconds: 120);

        Assert.True(good.ExitCode == 0, good.Output);
        Assert.Contains("no problems in 6 splits (7 samples)", good.Output);
    }

    private static string WriteVoc(string voc, string id, byte[] labels)
    {
        RgbImageFile.WriteJpeg(Folder(voc, "JPEGImages", id + ".jpg"), Image(2, 2));
        var mask = Folder(voc, "SegmentationClass", id + ".png");
        PalettePngFile.Write(mask, new LabelMask(2, 2, labels), PalettePngFile.VocPalette);
        return mask;
    }

    private static RgbImage Image(int width, int height) => new(width, height, [.. Enumerable.Repeat((byte)120, width * height * 3)]);

    private static string Folder(params string[] parts)
    {
        var path = Path.Combine(parts);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    private static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private static string Job(string data) => $$"""
        {
          "name": "layouts-check",
          "data": { "root": "{{data.Replace("\\", "/", StringComparison.Ordinal)}}", "generate_if_missing": false, "workers": 1 },
          "backbone": { "preset": "small", "num_units": 2 },
          "train": { "max_steps": 10, "devices": "cpu:1" },
          "optimizer": { "warmup_steps": 2 },
          "tasks": [
            { "name": "voc", "family": "semantic_segmentation", "dataset": "voc:VOC2012", "num_classes": 21,
              "input_size": { "height": 32, "width": 32 }, "batch_size": 2 },
            { "name": "ade", "family": "semantic_segmentation", "dataset": "ade20k:ADEChallengeData2016", "num_classes": 150,
              "input_size": { "height": 32, "width": 32 }, "batch_size": 2 },
            { "name": "in1k", "family": "classification", "dataset": "imagenet:imagenet", "num_classes": 3,
              "input_size": { "height": 32, "width": 32 }, "batch_size": 2 }
          ]
        }
        """;
}
