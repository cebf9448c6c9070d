using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>A classification data set over an image folder (root/&lt;class_name&gt;/*.png|jpg).</summary>
public sealed class ImageFolderDataset : ITaskDataset
{
    private readonly ImageFolderIndex index;

    public ImageFolderDataset(string name, ImageFolderIndex index)
    {
        Name = name;
        this.index = index;
    }

    public string Name { get; }

    public int Count => index.Samples.Count;

    public IReadOnlyList<string> ClassNames => index.ClassNames;

    public static ImageFolderDataset Open(string name, string root) => new(name, ImageFolderIndex.Open(root));

    public DecodedSample Decode(long index)
    {
        var sample = this.index.Samples[checked((int)index)];
        return new DecodedSample { Image = RgbImageFile.Read(sample.ImagePath), SourcePath = sample.ImagePath, ClassLabel = sample.Label };
    }

    public string SourceOf(long index) => this.index.Samples[checked((int)index)].ImagePath;
}
