using GppfActors.Tasks.Synthetic;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Synthetic;

public class SyntheticDatasetWriterSpecs
{
    private static SynthOptions Tiny(long seed) => new() { Seed = seed, NumTrain = 8, NumVal = 5 };

    [Fact]
    public void Should_write_identical_bytes_when_the_seed_is_the_same()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();

        SyntheticDatasetWriter.Write(a.Path, Tiny(3));
        SyntheticDatasetWriter.Write(b.Path, Tiny(3));

        Assert.Equal(TreeHash.Of(a.Path), TreeHash.Of(b.Path));
    }

    [Fact]
    public void Should_write_different_bytes_when_the_seed_differs()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();

        SyntheticDatasetWriter.Write(a.Path, Tiny(3));
        SyntheticDatasetWriter.Write(b.Path, Tiny(4));

        Assert.NotEqual(TreeHash.Of(a.Path), TreeHash.Of(b.Path));
        // Every image differs, not just one: the seed reaches every image's stream.
        var imagesA = Directory.GetFiles(Path.Combine(a.Path, "detection", "train", "images")).Order().Select(File.ReadAllBytes).ToArray();
        var imagesB = Directory.GetFiles(Path.Combine(b.Path, "detection", "train", "images")).Order().Select(File.ReadAllBytes).ToArray();
        Assert.All(imagesA.Zip(imagesB), p => Assert.NotEqual(p.First, p.Second));
    }

    [Fact]
    public void Should_replace_an_earlier_data_set_exactly_when_regenerated_in_place()
    {
        using var reused = new TempDirectory();
        using var fresh = new TempDirectory();

        SyntheticDatasetWriter.Write(reused.Path, new SynthOptions { Seed = 1, NumTrain = 12, NumVal = 6 });
        SyntheticDatasetWriter.Write(reused.Path, Tiny(2));
        SyntheticDatasetWriter.Write(fresh.Path, Tiny(2));

        Assert.Equal(TreeHash.Of(fresh.Path), TreeHash.Of(reused.Path));
    }

    [Fact]
    public void Should_refuse_to_write_when_the_directory_holds_other_files()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("thesis.tex"), "precious");

        var e = Assert.Throws<IOException>(() => SyntheticDatasetWriter.Write(dir.Path, Tiny(1)));

        Assert.Contains("not empty", e.Message);
        Assert.True(File.Exists(dir.File("thesis.tex")));
    }

    [Fact]
    public void Should_record_counts_that_match_the_files_when_manifest_is_written()
    {
        using var dir = new TempDirectory();

        SyntheticDatasetWriter.Write(dir.Path, Tiny(5));
        var manifest = SynthManifest.Read(dir.Path);

        Assert.Equal((SyntheticDatasetWriter.GeneratorVersion, 5L), (manifest.GeneratorVersion, manifest.Seed));
        Assert.Equal(["classification", "detection", "segmentation", "depth"], manifest.Tasks.Select(t => t.Name));
        Assert.Equal([32, 64, 64, 64], manifest.Tasks.Select(t => t.ImageWidth));
        foreach (var task in manifest.Tasks)
        {
            foreach (var split in task.Splits)
            {
                var folder = Path.Combine(dir.Path, split.Path);
                var images = task.Name == "classification"
                    ? Directory.GetFiles(folder, "*.png", SearchOption.AllDirectories).Length
                    : Directory.GetFiles(Path.Combine(folder, "images"), "*.png").Length;
                Assert.Equal(split.Count, images);
                Assert.Equal(split.Count, split.DomainCounts.Sum());
            }
        }
        Assert.Equal(8, Directory.GetFiles(Path.Combine(dir.Path, "segmentation", "train", "masks")).Length);
        Assert.Equal(5, Directory.GetFiles(Path.Combine(dir.Path, "depth", "val", "depth")).Length);
    }

    [Fact]
    public void Should_cover_every_class_and_domain_when_classification_is_written()
    {
        using var dir = new TempDirectory();

        SyntheticDatasetWriter.Write(dir.Path, new SynthOptions { Seed = 9, NumTrain = 20, NumVal = 5, Tasks = [SynthTask.Classification] });

        var train = Path.Combine(dir.Path, "classification", "train");
        Assert.Equal(ShapeClasses.Names.Order(StringComparer.Ordinal), Directory.GetDirectories(train).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.All(ShapeClasses.Names, c => Assert.Equal(4, Directory.GetFiles(Path.Combine(train, c)).Length));
        var names = Directory.GetFiles(train, "*.png", SearchOption.AllDirectories).Select(Path.GetFileNameWithoutExtension).ToArray();
        Assert.All(SceneDomains.All, d => Assert.Equal(5, names.Count(n => n!.EndsWith("_" + SceneDomains.NameOf(d), StringComparison.Ordinal))));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "detection")));
    }
}
