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
/// One COCO annotation: box as JSON stores it (x, y, w, h in pixels), contiguous class index, and its
/// segmentation as polygons (each x0, y0, x1, y1, ...; empty when the file uses RLE) or as RLE runs
/// (<see cref="Rle"/>). The mask itself is rasterised per sample (<see cref="Mask"/>), not kept.
/// </summary>
public sealed record CocoObject(long Id, int ClassIndex, float X, float Y, float Width, float Height, bool IsCrowd, IReadOnlyList<float[]> Polygons)
{
    /// <summary>The RLE segmentation's run lengths (compressed strings decoded at read time); null for polygons or none.</summary>
    public CocoRle? Rle { get; init; }

    /// <summary>Whether the annotation has a segmentation (polygons or RLE).</summary>
    public bool HasSegmentation => Rle is not null || Polygons.Count > 0;

    /// <summary>
    /// The instance's mask in an image of <paramref name="width"/> x <paramref name="height"/>: the RLE
    /// runs, else the polygons rasterised, else (no segmentation) the box filled.
    /// </summary>
    public BinaryMask Mask(int width, int height)
    {
        if (Rle is { } rle)
        {
            if (rle.Width != width || rle.Height != height)
            {
                throw new FormatException($"annotation {Id}: RLE size [{rle.Height}, {rle.Width}] is not the image's [{height}, {width}]");
            }
            return CocoSegmentation.FromRuns(rle.Runs, width, height);
        }
        if (Polygons.Count > 0)
        {
            return CocoSegmentation.FromPolygons(Polygons, width, height);
        }
        var pixels = new bool[width * height];
        int x1 = Math.Clamp((int)Math.Round(X), 0, width), x2 = Math.Clamp((int)Math.Round(X + Width), 0, width);
        int y1 = Math.Clamp((int)Math.Round(Y), 0, height), y2 = Math.Clamp((int)Math.Round(Y + Height), 0, height);
        for (int y = y1; y < y2; y++)
        {
            Array.Fill(pixels, true, y * width + x1, x2 - x1);
        }
        return new BinaryMask(width, height, pixels);
    }

    /// <summary>
    /// <see cref="Mask"/> kept only over its window (<see cref="CroppedMask"/>): the RLE runs', the polygons' or the
    /// filled box's integer bounding box padded by 1 px, clipped to the image; decoded without an image-sized buffer.
    /// </summary>
    public CroppedMask MaskCrop(int width, int height)
    {
        if (Rle is { } rle)
        {
            if (rle.Width != width || rle.Height != height)
            {
                throw new FormatException($"annotation {Id}: RLE size [{rle.Height}, {rle.Width}] is not the image's [{height}, {width}]");
            }
            return CocoSegmentation.CroppedFromRuns(rle.Runs, width, height);
        }
        if (Polygons.Count > 0)
        {
            return CocoSegmentation.CroppedFromPolygons(Polygons, width, height);
        }
        int x1 = Math.Clamp((int)Math.Round(X), 0, width), x2 = Math.Clamp((int)Math.Round(X + Width), 0, width);
        int y1 = Math.Clamp((int)Math.Round(Y), 0, height), y2 = Math.Clamp((int)Math.Round(Y + Height), 0, height);
        if (x2 <= x1 || y2 <= y1)
        {
            return CroppedMask.Empty;
        }
        int wx1 = Math.Max(0, x1 - 1), wy1 = Math.Max(0, y1 - 1), wx2 = Math.Min(width, x2 + 1), wy2 = Math.Min(height, y2 + 1);
        int w = wx2 - wx1;
        var pixels = new byte[w * (wy2 - wy1)];
        for (int y = y1; y < y2; y++)
        {
            Array.Fill(pixels, (byte)1, (y - wy1) * w + x1 - wx1, x2 - x1);
        }
        return new CroppedMask(wx1, wy1, w, wy2 - wy1, pixels);
    }
}

/// <summary>An RLE segmentation: run lengths (background first, column-major) over an image of <paramref name="Height"/> x <paramref name="Width"/>.</summary>
public sealed record CocoRle(int Height, int Width, long[] Runs);
