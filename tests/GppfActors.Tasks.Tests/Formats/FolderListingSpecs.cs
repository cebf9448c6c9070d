using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Formats;

public class FolderListingSpecs
{
    // Directories written an hour ago: a data set that has been sitting on disk, whose listing may be cached.
    private static readonly DateTime LongAgo = DateTime.UtcNow.AddHours(-1);

    [Fact]
    public void Should_return_the_samples_labels_and_order_of_a_direct_listing_when_indexed()
    {
        using var dir = new TempDirectory();
        var root = Path.Combine(dir.Path, "train");
        var random = new Random(5);
        string[] classNames = ["b", "B", "a_1", "a-1", "\u00e9t\u00e9", "z", "A10", "A9"];
        foreach (var name in classNames)
        {
            for (var i = 0; i < random.Next(1, 6); i++)
            {
                File.WriteAllBytes(Path.Combine(Directory.CreateDirectory(Path.Combine(root, name)).FullName, $"{random.Next(1000)}{(i % 2 == 0 ? "x" : "X")}.{(i % 3 == 0 ? "JPEG" : "png")}"), [1]);
            }
            File.WriteAllBytes(Path.Combine(root, name, ".hidden.png"), [1]);
            File.WriteAllBytes(Path.Combine(root, name, "readme.txt"), [1]);
            Directory.CreateDirectory(Path.Combine(root, name, "nested.png"));
        }
        Directory.CreateDirectory(Path.Combine(root, ".cache"));
        File.WriteAllBytes(Path.Combine(root, "loose.png"), [1]);

        var index = ImageFolderIndex.Open(root, Path.Combine(dir.Path, "cache"));

        // The reference: full paths from Directory.GetDirectories / GetFiles, filtered and sorted as the loader always did.
        var classDirs = Directory.GetDirectories(root).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal).ToArray();
        var expected = classDirs.SelectMany((d, label) => Directory.GetFiles(d)
            .Where(f => !Path.GetFileName(f).StartsWith('.') && Path.GetExtension(f).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg")
            .Order(StringComparer.Ordinal)
            .Select(f => (f, label))).ToArray();
        Assert.Equal(classDirs.Select(Path.GetFileName), index.ClassNames);
        Assert.Equal(expected, index.Samples.Select(s => (s.ImagePath, s.Label)));
        Assert.Equal(expected.Select(e => e.f), Enumerable.Range(0, index.Count).Select(i => index.PathOf(i)));
        Assert.Equal(expected.Select(e => e.label), Enumerable.Range(0, index.Count).Select(i => index.LabelOf(i)));
    }

    [Fact]
    public void Should_read_the_cache_without_listing_when_the_folder_is_unchanged()
    {
        using var dir = new TempDirectory();
        var (root, cache) = Tree(dir, ("cat", 3), ("dog", 2));
        Assert.False(ImageFolderIndex.Open(root, cache).FromCache);

        // A file slipped in with its folder's write time put back: only a walk of the folder could find it, so its
        // absence shows the second open read the cache instead.
        var dog = Path.Combine(root, "dog");
        File.WriteAllBytes(Path.Combine(dog, "2.png"), [1]);
        Directory.SetLastWriteTimeUtc(dog, LongAgo);
        var index = ImageFolderIndex.Open(root, cache);

        Assert.True(index.FromCache);
        Assert.Equal(5, index.Count);
        Assert.DoesNotContain(index.Samples, s => s.ImagePath.EndsWith("2.png", StringComparison.Ordinal) && s.Label == 1);
        Assert.Equal(Path.Combine(root, "dog", "1.png"), index.PathOf(4));
        Assert.Equal(1, index.LabelOf(4));
    }

    [Fact]
    public void Should_list_again_when_a_file_is_added_to_a_class_folder()
    {
        using var dir = new TempDirectory();
        var (root, cache) = Tree(dir, ("cat", 3), ("dog", 2));
        ImageFolderIndex.Open(root, cache);

        File.WriteAllBytes(Path.Combine(root, "cat", "3.png"), [1]);
        var index = ImageFolderIndex.Open(root, cache);

        Assert.False(index.FromCache);
        Assert.Equal(6, index.Count);
        Assert.Equal((Path.Combine(root, "cat", "3.png"), 0), (index.PathOf(3), index.LabelOf(3)));
    }

    [Fact]
    public void Should_list_again_when_a_file_is_removed_from_a_class_folder()
    {
        using var dir = new TempDirectory();
        var (root, cache) = Tree(dir, ("cat", 3), ("dog", 2));
        ImageFolderIndex.Open(root, cache);

        File.Delete(Path.Combine(root, "cat", "1.png"));
        var index = ImageFolderIndex.Open(root, cache);

        Assert.False(index.FromCache);
        Assert.Equal(["0.png", "2.png", "0.png", "1.png"], index.Samples.Select(s => Path.GetFileName(s.ImagePath)));
    }

    [Fact]
    public void Should_list_again_when_a_class_folder_is_added()
    {
        using var dir = new TempDirectory();
        var (root, cache) = Tree(dir, ("cat", 1), ("dog", 1));
        ImageFolderIndex.Open(root, cache);

        File.WriteAllBytes(Path.Combine(Directory.CreateDirectory(Path.Combine(root, "cow")).FullName, "0.png"), [1]);
        var index = ImageFolderIndex.Open(root, cache);

        Assert.False(index.FromCache);
        Assert.Equal(["cat", "cow", "dog"], index.ClassNames);
        Assert.Equal([0, 1, 2], index.Samples.Select(s => s.Label));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("empty")]
    [InlineData("garbage")]
    public void Should_list_again_and_rewrite_the_cache_when_it_is_damaged(string damage)
    {
        using var dir = new TempDirectory();
        var (root, cache) = Tree(dir, ("cat", 3), ("dog", 2));
        ImageFolderIndex.Open(root, cache);
        var file = Assert.Single(Directory.GetFiles(cache));
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, damage switch
        {
            "truncated" => bytes[..(bytes.Length / 2)],
            "flipped" => [.. bytes.Select((b, i) => i == bytes.Length / 2 ? (byte)(b ^ 0x40) : b)],
            "empty" => [],
            _ => [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 37))],
        });

        var rebuilt = ImageFolderIndex.Open(root, cache);
        var again = ImageFolderIndex.Open(root, cache);

        Assert.False(rebuilt.FromCache);
        Assert.Equal(5, rebuilt.Count);
        Assert.True(again.FromCache);
        Assert.Equal(rebuilt.Samples, again.Samples);
    }

    [Fact]
    public void Should_not_cache_a_listing_when_a_folder_was_written_within_the_settle_time()
    {
        using var dir = new TempDirectory();
        var (root, cache) = Tree(dir, ("cat", 1), ("dog", 1));
        // Written just now: a change in the same time-stamp tick would leave the write time as it is.
        File.WriteAllBytes(Path.Combine(root, "dog", "9.png"), [1]);

        var first = ImageFolderIndex.Open(root, cache);
        var second = ImageFolderIndex.Open(root, cache);

        Assert.False(first.FromCache);
        Assert.False(second.FromCache);
        Assert.False(Directory.Exists(cache) && Directory.EnumerateFiles(cache).Any());
    }

    [Fact]
    public void Should_keep_the_cache_of_each_folder_apart_when_two_folders_share_a_cache_folder()
    {
        using var dir = new TempDirectory();
        var (train, cache) = Tree(dir, ("cat", 2), ("dog", 1));
        var val = Path.Combine(dir.Path, "val");
        File.WriteAllBytes(Path.Combine(Directory.CreateDirectory(Path.Combine(val, "cat")).FullName, "v.png"), [1]);
        Settle(val);
        ImageFolderIndex.Open(train, cache);
        ImageFolderIndex.Open(val, cache);

        var trainAgain = ImageFolderIndex.Open(train, cache);
        var valAgain = ImageFolderIndex.Open(val, cache);

        Assert.True(trainAgain.FromCache && valAgain.FromCache);
        Assert.Equal(3, trainAgain.Count);
        Assert.Equal(Path.Combine(val, "cat", "v.png"), Assert.Single(valAgain.Samples).ImagePath);
    }

    [Fact]
    public void Should_list_again_when_the_cache_file_holds_another_folders_listing()
    {
        using var dir = new TempDirectory();
        var (train, cache) = Tree(dir, ("cat", 2), ("dog", 1));
        var val = Path.Combine(dir.Path, "val");
        File.WriteAllBytes(Path.Combine(Directory.CreateDirectory(Path.Combine(val, "cat")).FullName, "v.png"), [1]);
        Settle(val);
        ImageFolderIndex.Open(train, cache);
        // An intact file with a valid hash, under val's name: only the folder path stored inside tells them apart.
        File.Copy(FolderListingCache.FileFor(cache, train), FolderListingCache.FileFor(cache, val));

        var index = ImageFolderIndex.Open(val, cache);

        Assert.False(index.FromCache);
        Assert.Equal(Path.Combine(val, "cat", "v.png"), Assert.Single(index.Samples).ImagePath);
    }

    /// <summary>DIR/train/&lt;class&gt;/0.png.. with every folder's write time an hour back, and the cache folder to use.</summary>
    private static (string Root, string Cache) Tree(TempDirectory dir, params (string Name, int NumFiles)[] classes)
    {
        var root = Path.Combine(dir.Path, "train");
        foreach (var (name, numFiles) in classes)
        {
            var classDir = Directory.CreateDirectory(Path.Combine(root, name)).FullName;
            for (var i = 0; i < numFiles; i++)
            {
                File.WriteAllBytes(Path.Combine(classDir, $"{i}.png"), [1]);
            }
        }
        Settle(root);
        return (root, Path.Combine(dir.Path, "run", "data-index"));
    }

    private static void Settle(string root)
    {
        foreach (var d in Directory.GetDirectories(root))
        {
            Directory.SetLastWriteTimeUtc(d, LongAgo);
        }
        Directory.SetLastWriteTimeUtc(root, LongAgo);
    }
}
