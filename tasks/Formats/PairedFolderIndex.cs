namespace GppfActors.Tasks.Formats;

/// <summary>
/// Images paired by file stem with per-pixel targets in a sibling folder (images/x.jpg with masks/x.png,
/// or with depth/x.png), the layout of most segmentation and depth sets.
/// </summary>
public sealed class PairedFolderIndex
{
    private PairedFolderIndex(string imageDir, string targetDir, IReadOnlyList<PairedSample> samples)
    {
        ImageDir = imageDir;
        TargetDir = targetDir;
        Samples = samples;
    }

    public string ImageDir { get; }

    public string TargetDir { get; }

    /// <summary>Pairs in ordinal image-name order.</summary>
    public IReadOnlyList<PairedSample> Samples { get; }

    /// <summary>Lists the pairs; an image without a target file is an error naming the missing file.</summary>
    public static PairedFolderIndex Open(string imageDir, string targetDir)
    {
        if (!Directory.Exists(imageDir))
        {
            throw new DataFormatException(imageDir, "image folder not found");
        }
        if (!Directory.Exists(targetDir))
        {
            throw new DataFormatException(targetDir, "target folder not found");
        }
        var images = Directory.GetFiles(imageDir)
            .Where(f => ImageFiles.IsImageFile(f) && !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (images.Length == 0)
        {
            throw new DataFormatException(imageDir, "image folder holds no .png/.jpg images");
        }
        var samples = new List<PairedSample>(images.Length);
        foreach (var image in images)
        {
            // Targets are always PNG: JPEG's lossy coding would corrupt class indices and depths.
            var target = Path.Combine(targetDir, Path.GetFileNameWithoutExtension(image) + ".png");
            if (!File.Exists(target))
            {
                throw new DataFormatException(target, $"file not found (the target of {image})");
            }
            samples.Add(new PairedSample(image, target));
        }
        return new PairedFolderIndex(imageDir, targetDir, samples);
    }
}

/// <summary>An image and its per-pixel target file.</summary>
public sealed record PairedSample(string ImagePath, string TargetPath);
