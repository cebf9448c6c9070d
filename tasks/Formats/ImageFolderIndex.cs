using System.Collections;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// The listing of a classification image folder, root/&lt;class_name&gt;/*.png|jpg, with classes numbered
/// in ordinal name order (the torchvision ImageFolder convention, so label k means the same class in both).
/// Samples live in a <see cref="FolderListing"/> (a few bytes per image) and a label per class folder; a sample's
/// path is made when it is asked for.
/// </summary>
public sealed class ImageFolderIndex
{
    private readonly FolderListing listing;
    private readonly int[] folders;
    private readonly int[] labels;
    private readonly int[] starts;

    private ImageFolderIndex(FolderListing listing, IReadOnlyList<string> classNames, int[] folders, int[] labels, int[] starts)
    {
        this.listing = listing;
        ClassNames = classNames;
        this.folders = folders;
        this.labels = labels;
        this.starts = starts;
        Samples = new SampleList(this);
    }

    public string Root => listing.Root;

    /// <summary>Class names; the label of a class is its position here.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    public int Count => starts[^1];

    /// <summary>True when the file names came from the index cache instead of a walk of the folder.</summary>
    public bool FromCache => listing.FromCache;

    /// <summary>The listing the samples are read from.</summary>
    public FolderListing Listing => listing;

    /// <summary>Every image, grouped by class and in ordinal file-name order within a class; each item is made on access.</summary>
    public IReadOnlyList<ImageFolderSample> Samples { get; }

    /// <summary>
    /// Lists the folder (or reads the listing cached in <paramref name="cacheDir"/> when the folder has not changed);
    /// images are not decoded here, so a corrupt file surfaces when its sample is read.
    /// </summary>
    public static ImageFolderIndex Open(string root, string? cacheDir = null)
    {
        var listing = FolderListing.Open(root, cacheDir);
        if (listing.NumFolders == 0)
        {
            throw new DataFormatException(root, "image folder has no class sub-folders (expected root/<class_name>/*.png|jpg)");
        }
        for (var folder = 0; folder < listing.NumFolders; folder++)
        {
            if (listing.FolderFileCount(folder) == 0)
            {
                // An empty class would still take a logit and shift every later label: fail loudly instead.
                throw new DataFormatException(listing.FolderPath(folder), "class folder holds no .png/.jpg images");
            }
        }
        // Folder position = label: the listing is in ordinal order, so the numbering does not depend on the machine's culture.
        return Create(listing, listing.FolderNames, [.. Enumerable.Range(0, listing.NumFolders)]);
    }

    /// <summary>
    /// An index over the folders of <paramref name="listing"/> with a label each (-1: the folder is left out), classes
    /// named by <paramref name="classNames"/>. Samples keep the listing's order.
    /// </summary>
    public static ImageFolderIndex Create(FolderListing listing, IReadOnlyList<string> classNames, IReadOnlyList<int> labelOfFolder)
    {
        if (labelOfFolder.Count != listing.NumFolders)
        {
            throw new ArgumentException($"{labelOfFolder.Count} labels for {listing.NumFolders} folders", nameof(labelOfFolder));
        }
        var kept = Enumerable.Range(0, listing.NumFolders).Where(f => labelOfFolder[f] >= 0 && listing.FolderFileCount(f) > 0).ToArray();
        var starts = new int[kept.Length + 1];
        for (var k = 0; k < kept.Length; k++)
        {
            starts[k + 1] = starts[k] + listing.FolderFileCount(kept[k]);
        }
        return new ImageFolderIndex(listing, classNames, kept, [.. kept.Select(f => labelOfFolder[f])], starts);
    }

    public ImageFolderSample Sample(long index)
    {
        var (folder, file) = Locate(index);
        return new ImageFolderSample(listing.PathOf(folders[folder], file), labels[folder]);
    }

    public string PathOf(long index)
    {
        var (folder, file) = Locate(index);
        return listing.PathOf(folders[folder], file);
    }

    public int LabelOf(long index) => labels[Locate(index).Folder];

    /// <summary>The kept folder holding sample <paramref name="index"/> (binary search over class starts) and the file's listing position.</summary>
    private (int Folder, int File) Locate(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var sample = (int)index;
        var found = Array.BinarySearch(starts, sample);
        // Not found: ~found is the first start above the sample, so the folder is the one before it. Found: empty
        // folders are never kept, so the start belongs to exactly one folder.
        var folder = found >= 0 ? found : ~found - 1;
        return (folder, listing.FolderStart(folders[folder]) + (sample - starts[folder]));
    }

    private sealed class SampleList(ImageFolderIndex index) : IReadOnlyList<ImageFolderSample>
    {
        public ImageFolderSample this[int i] => index.Sample(i);

        public int Count => index.Count;

        public IEnumerator<ImageFolderSample> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return index.Sample(i);
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>One image of an image folder and its class label.</summary>
public sealed record ImageFolderSample(string ImagePath, int Label);
