using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>A semantic segmentation data set: images paired with 8-bit PNG label masks (255 = ignore).</summary>
public sealed class SegmentationFolderDataset : ITaskDataset
{
    private readonly PairedFolderIndex index;

    public SegmentationFolderDataset(string name, PairedFolderIndex index)
    {
        Name = name;
        this.index = index;
    }

    public string Name { get; }

    public int Count => index.Samples.Count;

    public static SegmentationFolderDataset Open(string name, string imageDir, string maskDir) =>
        new(name, PairedFolderIndex.Open(imageDir, maskDir));

    public DecodedSample Decode(long index)
    {
        var pair = this.index.Samples[checked((int)index)];
        var image = RgbImageFile.Read(pair.ImagePath);
        var mask = LabelMaskFile.Read(pair.TargetPath);
        if (mask.Width != image.Width || mask.Height != image.Height)
        {
            throw new DataFormatException(pair.TargetPath,
                $"mask is {mask.Width}x{mask.Height} but its image {pair.ImagePath} is {image.Width}x{image.Height}");
        }
        return new DecodedSample { Image = image, SourcePath = pair.ImagePath, Mask = mask };
    }

    public string SourceOf(long index) => this.index.Samples[checked((int)index)].ImagePath;
}
