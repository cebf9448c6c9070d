namespace GppfActors.Tasks.Formats;

/// <summary>
/// The listing of a classification image folder, root/&lt;class_name&gt;/*.png|jpg, with classes numbered
/// in ordinal name order (the torchvision ImageFolder convention, so label k means the same class in both).
/// </summary>
public sealed class ImageFolderIndex
{
    internal ImageFolderIndex(string root, IReadOnlyList<string> classNames, IReadOnlyList<ImageFolderSample> samples)
    {
        Root = root;
        ClassNames = classNames;
        Samples = samples;
    }

    public string Root { get; }

    /// <summary>Class names; the label of a class is its position here.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Every image, grouped by class and in ordinal file-name order within a class.</summary>
    public IReadOnlyList<ImageFolderSample> Samples { get; }

    /// <summary>Lists the folder; images are not decoded here, so a corrupt file surfaces when its sample is read.</summary>
    public static ImageFolderIndex Open(string root)
    {
        if (!Directory.Exists(root))
        {
            throw new DataFormatException(root, "image folder not found");
        }
        // Ordinal order: the class numbering must not depend on the machine's culture.
        var classDirs = Directory.GetDirectories(root)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (classDirs.Length == 0)
        {
            throw new DataFormatException(root, "image folder has no class sub-folders (expected root/<class_name>/*.png|jpg)");
        }
        var samples = new List<ImageFolderSample>();
        for (var label = 0; label < classDirs.Length; label++)
        {
            var files = Directory.GetFiles(classDirs[label])
                .Where(f => ImageFiles.IsImageFile(f) && !Path.GetFileName(f).StartsWith('.'))
                .Order(StringComparer.Ordinal)
                .ToArray();
            if (files.Length == 0)
            {
                // An empty class would still take a logit and shift every later label: fail loudly instead.
                throw new DataFormatException(classDirs[label], "class folder holds no .png/.jpg images");
            }
            samples.AddRange(files.Select(f => new ImageFolderSample(f, label)));
        }
        return new ImageFolderIndex(root, [.. classDirs.Select(Path.GetFileName).Select(n => n!)], samples);
    }
}

/// <summary>One image of an image folder and its class label.</summary>
public sealed record ImageFolderSample(string ImagePath, int Label);
