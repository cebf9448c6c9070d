using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>
/// A semantic segmentation data set: images paired with PNG label masks. The project's own folders hold 8-bit
/// grayscale masks (255 = ignore); distributed layouts bring their own mask reader (VOC's palette PNGs) and a
/// <see cref="MaskLabelMap"/> from stored values to labels (ADE20K, COCO-Stuff).
/// </summary>
public sealed class SegmentationFolderDataset : ITaskDataset
{
    private readonly IReadOnlyList<PairedSample> samples;
    private readonly Func<string, LabelMask> readMask;
    private readonly MaskLabelMap map;
    private readonly LabelRange? labels;

    /// <summary>With <paramref name="labels"/>, each mask is checked against it when decoded.</summary>
    public SegmentationFolderDataset(string name, PairedFolderIndex index, LabelRange? labels = null)
        : this(name, index.Samples, LabelMaskFile.Read, MaskLabelMap.Identity, labels)
    {
    }

    /// <summary>Pairs listed by a layout, masks read with <paramref name="readMask"/> and translated with <paramref name="map"/>.</summary>
    public SegmentationFolderDataset(string name, IReadOnlyList<PairedSample> samples, Func<string, LabelMask> readMask, MaskLabelMap map, LabelRange? labels = null)
    {
        Name = name;
        this.samples = samples;
        this.readMask = readMask;
        this.map = map;
        this.labels = labels;
    }

    public string Name { get; }

    public int Count => samples.Count;

    /// <summary>Pairs images with masks; with <paramref name="labels"/> (the task's num_classes), decoding refuses mask labels outside it.</summary>
    public static SegmentationFolderDataset Open(string name, string imageDir, string maskDir, LabelRange? labels = null) =>
        new(name, PairedFolderIndex.Open(imageDir, maskDir), labels);

    public DecodedSample Decode(long index)
    {
        var pair = samples[checked((int)index)];
        var image = RgbImageFile.Read(pair.ImagePath);
        var stored = readMask(pair.TargetPath);
        if (stored.Width != image.Width || stored.Height != image.Height)
        {
            throw new DataFormatException(pair.TargetPath,
                $"mask is {stored.Width}x{stored.Height} but its image {pair.ImagePath} is {image.Width}x{image.Height}");
        }
        var mask = ReferenceEquals(map, MaskLabelMap.Identity) ? stored : map.Apply(pair.TargetPath, stored);
        if (labels is not null)
        {
            CheckLabels(pair.TargetPath, mask, labels);
        }
        return new DecodedSample { Image = image, SourcePath = pair.ImagePath, Mask = mask };
    }

    public string SourceOf(long index) => samples[checked((int)index)].ImagePath;

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
