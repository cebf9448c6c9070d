using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// <c>voc:PATH</c>: PASCAL VOC 2012 (PATH = VOCdevkit/VOC2012): the ids of ImageSets/Segmentation/{train,val}.txt,
/// each JPEGImages/ID.jpg with SegmentationClass/ID.png, a palette PNG whose index is the class (0 = background,
/// 1..20) and 255 the object border, ignored. A listed id without its image or mask is an error naming the list
/// file and line.
/// </summary>
public static class VocLayout
{
    public const int NumClasses = 21;

    public static DatasetLayout Layout { get; } = new("voc", TaskFamily.SemanticSegmentation,
        "PATH/ImageSets/Segmentation/{train,val}.txt ids, PATH/JPEGImages/ID.jpg + PATH/SegmentationClass/ID.png (palette index = class, 255 ignore)", Open);

    public static ITaskDataset Open(LayoutRequest request)
    {
        var list = Path.Combine(request.Root, "ImageSets", "Segmentation", request.SplitName("train", "val") + ".txt");
        if (!File.Exists(list))
        {
            throw new DataFormatException(list, "file not found (the split's list of image ids)");
        }
        var images = LayoutFiles.RequireDirectory(Path.Combine(request.Root, "JPEGImages"), "VOC's JPEG images");
        var masks = LayoutFiles.RequireDirectory(Path.Combine(request.Root, "SegmentationClass"), "VOC's palette PNG masks");
        var pairs = new List<PairedSample>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(list))
        {
            lineNumber++;
            var id = line.Trim();
            if (id.Length == 0)
            {
                continue;
            }
            var image = Path.Combine(images, id + ".jpg");
            var mask = Path.Combine(masks, id + ".png");
            var missing = new[] { image, mask }.Where(f => !File.Exists(f)).ToArray();
            if (missing.Length > 0)
            {
                request.Problem(DataFormatException.AtLine(list, lineNumber, $"id '{id}': file not found: {string.Join(", ", missing)}"));
                continue;
            }
            pairs.Add(new PairedSample(image, mask));
        }
        if (pairs.Count == 0 && request.Report is null)
        {
            throw new DataFormatException(list, "lists no image ids");
        }
        return new SegmentationFolderDataset(request.Name, pairs, PalettePngFile.Read, MaskLabelMap.Voc(NumClasses), request.Labels);
    }
}
