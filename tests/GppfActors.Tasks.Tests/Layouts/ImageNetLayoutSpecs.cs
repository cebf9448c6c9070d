using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Layouts;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Layouts;

public class ImageNetLayoutSpecs
{
    private static readonly LabelRange Classes = new(3, "tasks.in1k.num_classes");

    [Fact]
    public void Should_label_synset_folders_by_their_line_in_the_mapping_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("imagenet", "LOC_synset_mapping.txt"),
            ["n01440764 tench, Tinca tinca", "n01443537 goldfish, Carassius auratus", "n01484850 great white shark"]);
        LayoutFixtures.Jpeg(dir.File("imagenet", "train", "n01484850", "n01484850_10.JPEG"), 4, 4);
        LayoutFixtures.Jpeg(dir.File("imagenet", "train", "n01440764", "n01440764_10026.JPEG"), 4, 4);
        LayoutFixtures.Jpeg(dir.File("imagenet", "train", "n01440764", "n01440764_10027.JPEG"), 4, 4);

        var dataset = (ImageFolderDataset)ImageNetLayout.Open(new LayoutRequest("in1k/train", Path.Combine(dir.Path, "imagenet"), "train", Classes));

        Assert.Equal(3, dataset.Count);
        Assert.Equal([0, 0, 2], Enumerable.Range(0, 3).Select(i => dataset.Decode(i).ClassLabel!.Value).ToArray());
        Assert.Equal(["tench, Tinca tinca", "goldfish, Carassius auratus", "great white shark"], dataset.ClassNames);
    }

    [Fact]
    public void Should_number_classes_by_the_current_list_when_the_folder_listing_comes_from_the_cache()
    {
        using var dir = new TempDirectory();
        var list = dir.File("imagenet", "LOC_synset_mapping.txt");
        File.WriteAllLines(list, ["n01440764 tench", "n01443537 goldfish"]);
        LayoutFixtures.Jpeg(dir.File("imagenet", "train", "n01440764", "a.JPEG"), 4, 4);
        LayoutFixtures.Jpeg(dir.File("imagenet", "train", "n01443537", "b.JPEG"), 4, 4);
        var split = Path.Combine(dir.Path, "imagenet", "train");
        foreach (var folder in Directory.GetDirectories(split).Append(split))
        {
            Directory.SetLastWriteTimeUtc(folder, DateTime.UtcNow.AddHours(-1));
        }
        var request = new LayoutRequest("in1k/train", Path.Combine(dir.Path, "imagenet"), "train", Classes) { IndexCacheDir = Path.Combine(dir.Path, "run", "data-index") };
        var first = (ImageFolderDataset)ImageNetLayout.Open(request);

        File.WriteAllLines(list, ["n01443537 goldfish", "n01440764 tench"]);
        var second = (ImageFolderDataset)ImageNetLayout.Open(request);

        Assert.False(first.IndexFromCache);
        Assert.True(second.IndexFromCache);
        Assert.Equal([0, 1], Enumerable.Range(0, 2).Select(i => first.Decode(i).ClassLabel!.Value));
        Assert.Equal([1, 0], Enumerable.Range(0, 2).Select(i => second.Decode(i).ClassLabel!.Value));
        Assert.Equal(["goldfish", "tench"], second.ClassNames);
    }

    [Fact]
    public void Should_read_a_bare_winter21_id_list()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("in21k", "imagenet21k_wordnet_ids.txt"), ["n00004475", "n00005787", ""]);
        LayoutFixtures.Jpeg(dir.File("in21k", "imagenet21k_val", "n00005787", "a.JPEG"), 4, 4);

        var dataset = ImageNetLayout.Open(new LayoutRequest("in21k/val", Path.Combine(dir.Path, "in21k"), "val", Classes));

        Assert.Equal(1, dataset.Decode(0).ClassLabel);
    }

    [Fact]
    public void Should_name_a_folder_the_mapping_does_not_list()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("imagenet", "LOC_synset_mapping.txt"), ["n01440764 tench"]);
        LayoutFixtures.Jpeg(dir.File("imagenet", "val", "n01440764", "a.JPEG"), 4, 4);
        LayoutFixtures.Jpeg(dir.File("imagenet", "val", "n09999999", "b.JPEG"), 4, 4);

        var e = Assert.Throws<DataFormatException>(() => ImageNetLayout.Open(new LayoutRequest("in1k/val", Path.Combine(dir.Path, "imagenet"), "val", Classes)));

        Assert.Equal(Path.Combine(dir.Path, "imagenet", "val", "n09999999"), e.FilePath);
        Assert.Contains("LOC_synset_mapping.txt", e.Message);
    }

    [Fact]
    public void Should_name_the_mapping_file_and_line_of_a_malformed_or_repeated_synset()
    {
        using var dir = new TempDirectory();
        var bad = dir.File("bad.txt");
        File.WriteAllLines(bad, ["n01440764 tench", "goldfish"]);
        var twice = dir.File("twice.txt");
        File.WriteAllLines(twice, ["n01440764", "n01443537", "n01440764"]);

        var malformed = Assert.Throws<DataFormatException>(() => SynsetList.Read(bad));
        var repeated = Assert.Throws<DataFormatException>(() => SynsetList.Read(twice));

        Assert.Equal((bad, 2), (malformed.FilePath, malformed.Line));
        Assert.Equal((twice, 3), (repeated.FilePath, repeated.Line));
        Assert.Contains("line 1", repeated.Detail);
    }

    [Fact]
    public void Should_name_the_mapping_line_of_the_first_class_beyond_num_classes()
    {
        using var dir = new TempDirectory();
        var mapping = dir.File("imagenet", "LOC_synset_mapping.txt");
        File.WriteAllLines(mapping, ["n01440764 tench", "n01443537 goldfish", "n01484850 shark", "n01491361 tiger shark"]);
        LayoutFixtures.Jpeg(dir.File("imagenet", "train", "n01440764", "a.JPEG"), 4, 4);

        var e = Assert.Throws<DataFormatException>(() => ImageNetLayout.Open(new LayoutRequest("in1k/train", Path.Combine(dir.Path, "imagenet"), "train", Classes)));

        Assert.Equal((mapping, 4), (e.FilePath, e.Line));
        Assert.Contains("tasks.in1k.num_classes", e.Message);
    }
}
