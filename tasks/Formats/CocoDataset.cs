namespace GppfActors.Tasks.Formats;

/// <summary>A validated COCO detection / instance-segmentation file with every reference resolved.</summary>
public sealed class CocoDataset
{
    public CocoDataset(string annotationPath, string imageRoot, IReadOnlyList<CocoCategory> categories, IReadOnlyList<CocoImage> images)
    {
        AnnotationPath = annotationPath;
        ImageRoot = imageRoot;
        Categories = categories;
        Images = images;
    }

    /// <summary>The JSON file, named in errors that surface later (e.g. an image whose size contradicts it).</summary>
    public string AnnotationPath { get; }

    /// <summary>The folder <c>file_name</c> is relative to.</summary>
    public string ImageRoot { get; }

    /// <summary>Categories sorted by id; a category's contiguous class index is its position here.</summary>
    public IReadOnlyList<CocoCategory> Categories { get; }

    /// <summary>Images in the order of the JSON <c>images</c> array.</summary>
    public IReadOnlyList<CocoImage> Images { get; }
}

/// <summary>A COCO category: its JSON id and name.</summary>
/// <param name="JsonIndex">Position in the JSON <c>categories</c> array, for error messages (the class index is the sorted position).</param>
public sealed record CocoCategory(long Id, string Name, int JsonIndex);

/// <summary>A COCO image: the resolved file, the size the JSON declares (if any) and its objects.</summary>
/// <param name="JsonIndex">Position in the JSON <c>images</c> array, for error messages.</param>
public sealed record CocoImage(long Id, string FilePath, int? Width, int? Height, int JsonIndex, IReadOnlyList<CocoObject> Objects)
{
    /// <summary>LVIS: classes present in the image but not annotated on every instance (unmatched detections of them are not false positives).</summary>
    public IReadOnlyList<int> NotExhaustiveClassIndices { get; init; } = [];

    /// <summary>LVIS: classes verified absent from the image (the only classes besides the annotated ones whose detections count as false positives).</summary>
    public IReadOnlyList<int> NegativeClassIndices { get; init; } = [];
}

/// <summary>
/// One COCO annotation: box as JSON stores it (x, y, w, h in pixels), contiguous class index, and polygons
/// (each x0, y0, x1, y1, ...; empty when the file uses RLE, which this reader accepts but does not decode).
/// </summary>
public sealed record CocoObject(long Id, int ClassIndex, float X, float Y, float Width, float Height, bool IsCrowd, IReadOnlyList<float[]> Polygons);
