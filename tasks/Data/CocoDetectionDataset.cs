using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>A detection data set over a COCO JSON file: boxes as corners and contiguous class indices.</summary>
public sealed class CocoDetectionDataset : ITaskDataset
{
    private readonly CocoDataset coco;

    public CocoDetectionDataset(string name, CocoDataset coco)
    {
        Name = name;
        this.coco = coco;
    }

    public string Name { get; }

    public int Count => coco.Images.Count;

    /// <summary>Category names by contiguous class index.</summary>
    public IReadOnlyList<string> ClassNames => [.. coco.Categories.Select(c => c.Name)];

    public static CocoDetectionDataset Open(string name, string annotationPath, string imageRoot) =>
        new(name, CocoReader.Read(annotationPath, imageRoot));

    public DecodedSample Decode(long index)
    {
        var entry = coco.Images[checked((int)index)];
        var image = RgbImageFile.Read(entry.FilePath);
        if ((entry.Width is int w && w != image.Width) || (entry.Height is int h && h != image.Height))
        {
            // Boxes are in the declared frame; a different file size means they would land in the wrong place.
            throw new DataFormatException(coco.AnnotationPath,
                $"image {entry.FilePath} is {image.Width}x{image.Height} but the JSON declares {entry.Width}x{entry.Height}",
                $"images[{entry.JsonIndex}]");
        }
        // Crowd regions mark "many objects, do not count misses here"; they are not boxes to regress.
        var boxes = entry.Objects
            .Where(o => !o.IsCrowd)
            .Select(o => new BoxAnnotation(o.X, o.Y, o.X + o.Width, o.Y + o.Height, o.ClassIndex))
            .ToArray();
        return new DecodedSample { Image = image, SourcePath = entry.FilePath, Boxes = boxes };
    }

    public string SourceOf(long index) => coco.Images[checked((int)index)].FilePath;
}
