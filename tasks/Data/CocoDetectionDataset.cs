using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>
/// A detection data set over a COCO JSON file: boxes as corners and contiguous class indices; for instance
/// segmentation also each box's mask, decoded from its polygons or RLE when the sample is decoded.
/// </summary>
public sealed class CocoDetectionDataset : ITaskDataset
{
    private readonly CocoDataset coco;
    private readonly bool instanceMasks;

    /// <summary>
    /// With <paramref name="labels"/>, refuses a file whose categories map to class indices outside it; with
    /// <paramref name="instanceMasks"/>, samples carry a mask per box.
    /// </summary>
    public CocoDetectionDataset(string name, CocoDataset coco, LabelRange? labels = null, bool instanceMasks = false)
    {
        Name = name;
        this.coco = coco;
        this.instanceMasks = instanceMasks;
        if (labels is not null)
        {
            CheckLabels(coco, labels);
        }
    }

    public string Name { get; }

    public int Count => coco.Images.Count;

    /// <summary>Category names by contiguous class index.</summary>
    public IReadOnlyList<string> ClassNames => [.. coco.Categories.Select(c => c.Name)];

    /// <summary>Reads the JSON; with <paramref name="labels"/> (the task's num_classes), refuses class indices outside it.</summary>
    public static CocoDetectionDataset Open(string name, string annotationPath, string imageRoot, LabelRange? labels = null, bool instanceMasks = false) =>
        new(name, CocoReader.Read(annotationPath, imageRoot), labels, instanceMasks);

    /// <summary>Reads a file of a COCO dialect (LVIS, Objects365); with <paramref name="report"/>, missing images are reported and left out.</summary>
    public static CocoDetectionDataset Open(string name, string annotationPath, string imageRoot, CocoFlavor flavor, LabelRange? labels,
        Action<DataFormatException>? report, bool instanceMasks = false) =>
        new(name, CocoReader.Read(annotationPath, imageRoot, flavor, report), labels, instanceMasks);

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
        var objects = entry.Objects.Where(o => !o.IsCrowd).ToArray();
        var boxes = objects.Select(o => new BoxAnnotation(o.X, o.Y, o.X + o.Width, o.Y + o.Height, o.ClassIndex)).ToArray();
        CroppedMask[]? masks = null;
        if (instanceMasks)
        {
            // Decoded per sample, each over its box only: a full-image mask per instance costs an LVIS image
            // hundreds of MB and most of the decode time.
            try
            {
                masks = [.. objects.Select(o => o.MaskCrop(image.Width, image.Height))];
            }
            catch (FormatException e)
            {
                throw new DataFormatException(coco.AnnotationPath, e.Message, $"images[{entry.JsonIndex}]", e);
            }
        }
        return new DecodedSample { Image = image, SourcePath = entry.FilePath, Boxes = boxes, InstanceMasks = masks };
    }

    public string SourceOf(long index) => coco.Images[checked((int)index)].FilePath;

    /// <summary>
    /// Every category is checked, used or not: the reader has already tied each annotation to a category, and a
    /// category list longer than the head is a num_classes mistake even where no box uses the extra ones yet.
    /// </summary>
    private static void CheckLabels(CocoDataset coco, LabelRange labels)
    {
        if (coco.Categories.Count > labels.NumClasses)
        {
            var first = labels.NumClasses;
            var category = coco.Categories[first];
            throw new DataFormatException(coco.AnnotationPath,
                $"category id {category.Id} ('{category.Name}') maps to class index {first} (categories are numbered by sorted id), " +
                $"{labels.Rule}; the file has {coco.Categories.Count} categories",
                $"categories[{category.JsonIndex}].id");
        }
    }
}
