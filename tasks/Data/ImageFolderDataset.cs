using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>A classification data set over an image folder (root/&lt;class_name&gt;/*.png|jpg).</summary>
public sealed class ImageFolderDataset : ITaskDataset
{
    private readonly ImageFolderIndex index;

    /// <summary>With <paramref name="labels"/>, refuses a folder whose classes get labels outside it.</summary>
    public ImageFolderDataset(string name, ImageFolderIndex index, LabelRange? labels = null)
    {
        Name = name;
        this.index = index;
        if (labels is not null)
        {
            CheckLabels(index, labels);
        }
    }

    public string Name { get; }

    public int Count => index.Count;

    public IReadOnlyList<string> ClassNames => index.ClassNames;

    /// <summary>True when the folder's listing was read from the index cache instead of walking the folder.</summary>
    public bool IndexFromCache => index.FromCache;

    /// <summary>
    /// Lists <paramref name="root"/> (or reads its listing cached in <paramref name="indexCacheDir"/>); with
    /// <paramref name="labels"/> (the task's num_classes), refuses labels outside it.
    /// </summary>
    public static ImageFolderDataset Open(string name, string root, LabelRange? labels = null, string? indexCacheDir = null) =>
        new(name, ImageFolderIndex.Open(root, indexCacheDir), labels);

    public DecodedSample Decode(long index)
    {
        var sample = this.index.Sample(index);
        return new DecodedSample { Image = RgbImageFile.Read(sample.ImagePath), SourcePath = sample.ImagePath, ClassLabel = sample.Label };
    }

    public string SourceOf(long index) => this.index.PathOf(index);

    /// <summary>
    /// Labels are class folder positions, so only a folder with more classes than the head can hold a bad one. Fewer is
    /// allowed: a head may keep logits for classes a split lacks.
    /// </summary>
    private static void CheckLabels(ImageFolderIndex index, LabelRange labels)
    {
        var count = index.ClassNames.Count;
        if (count > labels.NumClasses)
        {
            var first = labels.NumClasses;
            throw new DataFormatException(Path.Combine(index.Root, index.ClassNames[first]),
                $"class folder '{index.ClassNames[first]}' gets label {first} (classes are numbered in ordinal name order), " +
                $"{labels.Rule}; the folder has {count} class folders");
        }
    }
}
