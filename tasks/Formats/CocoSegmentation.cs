using System.Numerics;
using System.Text.Json;
using GppfActors.Tasks.Synthetic;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// The three forms of a COCO annotation's <c>segmentation</c>: polygons (a list of
/// <c>[x1, y1, x2, y2, ...]</c> in pixel coordinates), uncompressed RLE (<c>{"counts": [..],
/// "size": [h, w]}</c>) and compressed RLE (<c>counts</c> a string, pycocotools' encoding), decoded to
/// a <see cref="BinaryMask"/>. RLE runs alternate background and foreground, starting with
/// background, over the pixels in column-major order (down the first column, then the next).
/// </summary>
/// <remarks>
/// Polygons are rasterised with the synthetic renderer's scanline coverage: a pixel is inside when at
/// least half of its 4x4 samples are (even-odd rule). pycocotools rasterises at 5x and can differ on
/// boundary pixels; the area inside agrees to within the boundary.
/// </remarks>
public static class CocoSegmentation
{
    /// <summary>
    /// Decodes <paramref name="segmentation"/> for an image of <paramref name="width"/> x
    /// <paramref name="height"/>; a malformed value is a <see cref="DataFormatException"/> naming
    /// <paramref name="file"/> and <paramref name="jsonPath"/>.
    /// </summary>
    public static BinaryMask Decode(JsonElement segmentation, int width, int height, string file, string jsonPath)
    {
        switch (segmentation.ValueKind)
        {
            case JsonValueKind.Array:
                return Polygons(segmentation, width, height, file, jsonPath);
            case JsonValueKind.Object:
                if (!segmentation.TryGetProperty("counts", out var counts) || !segmentation.TryGetProperty("size", out var size)
                    || size.ValueKind != JsonValueKind.Array || size.GetArrayLength() != 2
                    || !size[0].TryGetInt32(out int h) || !size[1].TryGetInt32(out int w))
                {
                    throw new DataFormatException(file, "an RLE segmentation needs \"counts\" and \"size\": [height, width]", jsonPath);
                }
                if (h != height || w != width)
                {
                    throw new DataFormatException(file, $"RLE size [{h}, {w}] is not the image's [{height}, {width}]", jsonPath);
                }
                try
                {
                    long[] runs = counts.ValueKind switch
                    {
                        JsonValueKind.String => DecodeCounts(counts.GetString()!),
                        JsonValueKind.Array => counts.EnumerateArray().Select(c => c.GetInt64()).ToArray(),
                        _ => throw new FormatException("\"counts\" must be a string (compressed) or a list of integers (uncompressed)"),
                    };
                    return FromRuns(runs, width, height);
                }
                catch (Exception e) when (e is FormatException or InvalidOperationException)
                {
                    throw new DataFormatException(file, e.Message, jsonPath + ".counts", e);
                }
            default:
                throw new DataFormatException(file, $"a segmentation is a list of polygons or an RLE object, not {segmentation.ValueKind}", jsonPath);
        }
    }

    /// <summary>
    /// The run lengths of pycocotools' compressed counts string: each count in 5-bit groups, low
    /// group first, as characters from '0' (48) with 0x20 meaning "more groups follow" and 0x10 in
    /// the last group the sign; from the third count on, each is stored as its difference from the
    /// count two before.
    /// </summary>
    public static long[] DecodeCounts(string text)
    {
        var counts = new List<long>();
        int p = 0;
        while (p < text.Length)
        {
            long x = 0;
            int k = 0;
            bool more = true;
            while (more)
            {
                if (p >= text.Length)
                {
                    throw new FormatException($"compressed RLE counts end inside a number (at character {p})");
                }
                int c = text[p] - 48;
                if (c is < 0 or > 63)
                {
                    throw new FormatException($"compressed RLE counts: character '{text[p]}' at {p} is outside '0'..'o'");
                }
                x |= (long)(c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) != 0)
                {
                    x |= -1L << (5 * k);
                }
            }
            if (counts.Count > 2)
            {
                x += counts[^2];
            }
            counts.Add(x);
        }
        return [.. counts];
    }

    /// <summary>The mask of run lengths (background first, column-major); the runs must cover the image exactly.</summary>
    public static BinaryMask FromRuns(IReadOnlyList<long> runs, int width, int height)
    {
        long total = runs.Sum();
        if (runs.Any(r => r < 0) || total != (long)width * height)
        {
            throw new FormatException($"RLE runs cover {total} pixels{(runs.Any(r => r < 0) ? " with a negative run" : "")}; the image has {(long)width * height}");
        }
        var pixels = new bool[width * height];
        long at = 0;
        for (int i = 0; i < runs.Count; i++)
        {
            if (i % 2 == 1)
            {
                for (long j = at; j < at + runs[i]; j++)
                {
                    int column = (int)(j / height), row = (int)(j % height);
                    pixels[row * width + column] = true;
                }
            }
            at += runs[i];
        }
        return new BinaryMask(width, height, pixels);
    }

    /// <summary>
    /// <see cref="FromRuns"/> kept only over the runs' bounding box padded by 1 px (clipped to the image): the same
    /// inside pixels, found and written without an image-sized buffer.
    /// </summary>
    public static CroppedMask CroppedFromRuns(IReadOnlyList<long> runs, int width, int height)
    {
        long total = runs.Sum();
        if (runs.Any(r => r < 0) || total != (long)width * height)
        {
            throw new FormatException($"RLE runs cover {total} pixels{(runs.Any(r => r < 0) ? " with a negative run" : "")}; the image has {(long)width * height}");
        }
        // Inclusive bounds of the foreground runs; a run that spans columns covers the bottom of its first one and
        // the top of its last, so its rows are all rows.
        int x1 = width, y1 = height, x2 = -1, y2 = -1;
        long at = 0;
        for (int i = 0; i < runs.Count; i++)
        {
            if (i % 2 == 1 && runs[i] > 0)
            {
                long first = at, last = at + runs[i] - 1;
                int c0 = (int)(first / height), c1 = (int)(last / height);
                (x1, x2) = (Math.Min(x1, c0), Math.Max(x2, c1));
                (y1, y2) = c0 == c1
                    ? (Math.Min(y1, (int)(first % height)), Math.Max(y2, (int)(last % height)))
                    : (0, height - 1);
            }
            at += runs[i];
        }
        if (x2 < 0)
        {
            return CroppedMask.Empty;
        }
        (x1, y1, x2, y2) = (Math.Max(0, x1 - 1), Math.Max(0, y1 - 1), Math.Min(width, x2 + 2), Math.Min(height, y2 + 2));
        int w = x2 - x1;
        var pixels = new byte[w * (y2 - y1)];
        at = 0;
        for (int i = 0; i < runs.Count; i++)
        {
            if (i % 2 == 1)
            {
                for (long j = at; j < at + runs[i]; j++)
                {
                    int column = (int)(j / height), row = (int)(j % height);
                    pixels[(row - y1) * w + column - x1] = 1;
                }
            }
            at += runs[i];
        }
        return new CroppedMask(x1, y1, w, y2 - y1, pixels);
    }

    /// <summary>
    /// <see cref="FromPolygons"/> kept only over the polygons' extent padded by 1 px (clipped to the image): the
    /// same inside pixels, rasterised over that window only.
    /// </summary>
    /// <remarks>
    /// The pad is what makes it exact: a crossing of an edge with a sample row is computed in float and can land an
    /// ulp past the polygon's extreme x, which marks at most a sample of the next pixel.
    /// </remarks>
    public static CroppedMask CroppedFromPolygons(IReadOnlyList<float[]> polygons, int width, int height)
    {
        var points = polygons.Select(p => Enumerable.Range(0, p.Length / 2).Select(i => new Vector2(p[2 * i], p[2 * i + 1])).ToArray()).ToList();
        if (points.Count == 0 || width == 0 || height == 0)
        {
            return CroppedMask.Empty;
        }
        float minX = points.Min(p => p.Min(v => v.X)), maxX = points.Max(p => p.Max(v => v.X));
        float minY = points.Min(p => p.Min(v => v.Y)), maxY = points.Max(p => p.Max(v => v.Y));
        int x1 = (int)Math.Clamp(MathF.Floor(minX) - 1, 0, width), x2 = (int)Math.Clamp(MathF.Floor(maxX) + 2, 0, width);
        int y1 = (int)Math.Clamp(MathF.Floor(minY) - 1, 0, height), y2 = (int)Math.Clamp(MathF.Ceiling(maxY) + 1, 0, height);
        if (x2 <= x1 || y2 <= y1)
        {
            return CroppedMask.Empty;
        }
        var coverage = PolygonRaster.Coverage(points, x1, y1, x2 - x1, y2 - y1);
        return new CroppedMask(x1, y1, x2 - x1, y2 - y1, [.. coverage.Select(c => c >= 0.5f ? (byte)1 : (byte)0)]);
    }

    private static BinaryMask Polygons(JsonElement list, int width, int height, string file, string jsonPath)
    {
        var polygons = new List<Vector2[]>();
        int index = 0;
        foreach (var polygon in list.EnumerateArray())
        {
            string at = $"{jsonPath}[{index++}]";
            if (polygon.ValueKind != JsonValueKind.Array || polygon.GetArrayLength() < 6 || polygon.GetArrayLength() % 2 != 0)
            {
                throw new DataFormatException(file, "a polygon is a list of at least 3 x, y pairs", at);
            }
            var values = polygon.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? v.GetSingle() : float.NaN).ToArray();
            if (values.Any(v => !float.IsFinite(v)))
            {
                throw new DataFormatException(file, "a polygon's coordinates must be numbers", at);
            }
            polygons.Add(Enumerable.Range(0, values.Length / 2).Select(i => new Vector2(values[2 * i], values[2 * i + 1])).ToArray());
        }
        return Rasterise(polygons, width, height);
    }

    /// <summary>The mask of polygons given as x0, y0, x1, y1, ... (at least 3 points each), rasterised as <see cref="Decode"/> does.</summary>
    public static BinaryMask FromPolygons(IReadOnlyList<float[]> polygons, int width, int height) =>
        Rasterise([.. polygons.Select(p => Enumerable.Range(0, p.Length / 2).Select(i => new Vector2(p[2 * i], p[2 * i + 1])).ToArray())], width, height);

    private static BinaryMask Rasterise(List<Vector2[]> polygons, int width, int height)
    {
        if (polygons.Count == 0 || width == 0 || height == 0)
        {
            return new BinaryMask(width, height, new bool[width * height]);
        }
        var coverage = PolygonRaster.Coverage(polygons, width, height);
        return new BinaryMask(width, height, coverage.Select(c => c >= 0.5f).ToArray());
    }
}
