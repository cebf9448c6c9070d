using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>A depth data set: images paired with 16-bit PNG depth maps (value / 256 = metres, 0 = none).</summary>
public sealed class DepthFolderDataset : ITaskDataset
{
    private readonly IReadOnlyList<PairedSample> samples;

    public DepthFolderDataset(string name, PairedFolderIndex index)
        : this(name, index.Samples)
    {
    }

    /// <summary>Pairs listed by a layout (KITTI's depth maps beside the raw drives' images).</summary>
    public DepthFolderDataset(string name, IReadOnlyList<PairedSample> samples)
    {
        Name = name;
        this.samples = samples;
    }

    public string Name { get; }

    public int Count => samples.Count;

    public static DepthFolderDataset Open(string name, string imageDir, string depthDir) =>
        new(name, PairedFolderIndex.Open(imageDir, depthDir));

    public DecodedSample Decode(long index)
    {
        var pair = samples[checked((int)index)];
        var image = RgbImageFile.Read(pair.ImagePath);
        var depth = DepthPngFile.Read(pair.TargetPath);
        if (depth.Width != image.Width || depth.Height != image.Height)
        {
            throw new DataFormatException(pair.TargetPath,
                $"depth map is {depth.Width}x{depth.Height} but its image {pair.ImagePath} is {image.Width}x{image.Height}");
        }
        return new DecodedSample { Image = image, SourcePath = pair.ImagePath, Depth = depth };
    }

    public string SourceOf(long index) => samples[checked((int)index)].ImagePath;
}
