using System.Numerics;

namespace GppfActors.Tasks.Synthetic;

/// <summary>
/// Scanline rasteriser: the fraction of each pixel covered by a union of polygons, from a 4x4 grid of
/// samples per pixel (even-odd rule per polygon). The fraction drives both the anti-aliased colour and the
/// "ambiguous edge" labels, so image and annotations come from the same geometry.
/// </summary>
public static class PolygonRaster
{
    /// <summary>Samples per pixel side.</summary>
    public const int Grid = 4;

    /// <summary>Coverage in [0, 1] per pixel, row-major, width * height.</summary>
    public static float[] Coverage(IReadOnlyList<Vector2[]> polygons, int width, int height) => Coverage(polygons, 0, 0, width, height);

    /// <summary>
    /// Coverage of the window of <paramref name="width"/> x <paramref name="height"/> pixels whose top-left is image pixel
    /// (<paramref name="x0"/>, <paramref name="y0"/>), row-major: the values the whole-image overload gives there (same
    /// sample positions, same arithmetic, coordinates never shifted), at the cost of the window only.
    /// </summary>
    public static float[] Coverage(IReadOnlyList<Vector2[]> polygons, int x0, int y0, int width, int height)
    {
        var coverage = new float[width * height];
        var minY = (int)Math.Max(y0, MathF.Floor(polygons.Min(p => p.Min(v => v.Y))));
        var maxY = (int)Math.Min(y0 + height - 1, MathF.Ceiling(polygons.Max(p => p.Max(v => v.Y))));
        var inside = new bool[width * Grid];
        var crossings = new List<float>();
        for (var y = minY; y <= maxY; y++)
        {
            var counts = new int[width];
            for (var j = 0; j < Grid; j++)
            {
                var sy = y + (j + 0.5f) / Grid;
                Array.Clear(inside);
                foreach (var polygon in polygons)
                {
                    Crossings(polygon, sy, crossings);
                    for (var k = 0; k + 1 < crossings.Count; k += 2)
                    {
                        MarkSpan(crossings[k], crossings[k + 1], inside, x0 * Grid);
                    }
                }
                for (var s = 0; s < inside.Length; s++)
                {
                    if (inside[s])
                    {
                        counts[s / Grid]++;
                    }
                }
            }
            for (var x = 0; x < width; x++)
            {
                coverage[(y - y0) * width + x] = counts[x] / (float)(Grid * Grid);
            }
        }
        return coverage;
    }

    /// <summary>Sorted x where the polygon's edges cross the horizontal line y (half-open rule, so shared vertices count once).</summary>
    private static void Crossings(Vector2[] polygon, float y, List<float> result)
    {
        result.Clear();
        for (var i = 0; i < polygon.Length; i++)
        {
            var a = polygon[i];
            var b = polygon[(i + 1) % polygon.Length];
            if ((a.Y <= y && y < b.Y) || (b.Y <= y && y < a.Y))
            {
                result.Add(a.X + (y - a.Y) * (b.X - a.X) / (b.Y - a.Y));
            }
        }
        result.Sort();
    }

    /// <summary>
    /// Marks the sub-columns whose sample centre lies in [x0, x1); <paramref name="inside"/> holds the image's
    /// sub-columns from <paramref name="offset"/> on (the bounds are found in image sub-columns, then shifted).
    /// </summary>
    private static void MarkSpan(float x0, float x1, bool[] inside, int offset)
    {
        var first = Math.Max(offset, (int)MathF.Ceiling(x0 * Grid - 0.5f));
        var last = Math.Min(offset + inside.Length - 1, (int)MathF.Ceiling(x1 * Grid - 0.5f) - 1);
        for (var s = first; s <= last; s++)
        {
            inside[s - offset] = true;
        }
    }
}
