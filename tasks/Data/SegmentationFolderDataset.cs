using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>A semantic segmentation data set: images paired with 8-bit PNG label masks (255 = ignore).</summary>
public sealed class SegmentationFolderDataset : ITaskDataset
{
    private readonly PairedFolderIndex index;
    private readonly LabelRange? labels;

    /// <summary>With <paramref name="labels"/>, each mask is checked against it when decoded.</summary>
    public SegmentationFolderDataset(string name, PairedFolderIndex index, LabelRange? labels = null)
    {
        Name = name;
        this.index = index;
        this.labels = labels;
    }

    public string Name { get; }

    public int Count => index.Samples.Count;

    /// <summary>Pairs images with masks; with <paramref name="labels"/> (the task's num_classes), decoding refuses mask labels outside it.</summary>
    public static SegmentationFolderDataset Open(string name, string imageDir, string maskDir, LabelRange? labels = null) =>
        new(name, PairedFolderIndex.Open(imageDir, maskDir), labels);

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
        if (labels is not null)
        {
            CheckLabels(pair.TargetPath, mask, labels);
        }
        return new DecodedSample { Image = image, SourcePath = pair.ImagePath, Mask = mask };
    }

    public string SourceOf(long index) => this.index.Samples[checked((int)index)].ImagePath;

    /// <summary>
    /// Checked here rather than at open: opening would have to decode every mask of the set (tens of thousands of PNGs
    /// for ADE20K-sized sets), while one pass over the bytes of a mask already decoded costs little beside its decode.
    /// </summary>
    private static void CheckLabels(string maskPath, LabelMask mask, LabelRange labels)
    {
        var at = Array.FindIndex(mask.Labels, v => v != LabelMask.Ignore && !labels.Contains(v));
        if (at >= 0)
        {
            throw new DataFormatException(maskPath,
                $"pixel ({at % mask.Width}, {at / mask.Width}) has label {mask.Labels[at]}, {labels.Rule}; {LabelMask.Ignore} (ignore) is the only other value a mask may hold");
        }
    }
}
