using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>Listing helpers shared by the layouts: folders that must exist, and images paired with per-pixel targets by file stem.</summary>
internal static class LayoutFiles
{
    /// <summary><paramref name="dir"/>, or an error naming it and what it should hold.</summary>
    public static string RequireDirectory(string dir, string what)
    {
        if (!Directory.Exists(dir))
        {
            throw new DataFormatException(dir, $"folder not found (expected {what})");
        }
        return dir;
    }

    /// <summary>The first of <paramref name="names"/> that exists under <paramref name="root"/>, or an error naming all of them.</summary>
    public static string FirstExisting(string root, string what, params string[] names)
    {
        var found = names.Select(n => Path.Combine(root, n)).FirstOrDefault(p => File.Exists(p) || Directory.Exists(p));
        return found ?? throw new DataFormatException(root, $"no {what}: expected one of {string.Join(", ", names)}");
    }

    /// <summary>Image files of a folder (.jpg/.jpeg/.png, hidden files skipped) in ordinal name order.</summary>
    public static string[] Images(string dir) => [.. Directory.GetFiles(dir)
        .Where(f => ImageFiles.IsImageFile(f) && !Path.GetFileName(f).StartsWith('.'))
        .Order(StringComparer.Ordinal)];

    /// <summary>
    /// Pairs every image of <paramref name="imageDir"/> with <paramref name="targetDir"/>/STEM.png; an image without
    /// its target is a problem naming the missing file, reported (and the image left out) or thrown.
    /// </summary>
    public static IReadOnlyList<PairedSample> PairByStem(LayoutRequest request, string imageDir, string targetDir)
    {
        RequireDirectory(imageDir, "the split's images");
        RequireDirectory(targetDir, "the split's label PNGs");
        var images = Images(imageDir);
        if (images.Length == 0)
        {
            throw new DataFormatException(imageDir, "folder holds no .jpg/.png images");
        }
        var pairs = new List<PairedSample>(images.Length);
        foreach (var image in images)
        {
            var target = Path.Combine(targetDir, Path.GetFileNameWithoutExtension(image) + ".png");
            if (File.Exists(target))
            {
                pairs.Add(new PairedSample(image, target));
            }
            else
            {
                request.Problem(new DataFormatException(target, $"file not found (the labels of {image})"));
            }
        }
        return pairs;
    }
}
