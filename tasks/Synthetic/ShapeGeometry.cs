using System.Numerics;

namespace GppfActors.Tasks.Synthetic;

/// <summary>
/// The outline of each shape class as simple polygons, which serve both as COCO instance polygons and as
/// the only thing the rasteriser draws, so the written annotation is exactly what was painted.
/// </summary>
public static class ShapeGeometry
{
    /// <summary>Vertices used for round outlines: smooth at the data set's sizes and small in the JSON.</summary>
    public const int CircleVertices = 32;

    /// <summary>Inner radius of a ring as a fraction of its outer radius.</summary>
    public const float RingInnerFraction = 0.55f;

    /// <summary>
    /// Polygons of a shape of class <paramref name="shape"/> centred at <paramref name="centre"/> with outer
    /// radius <paramref name="radius"/>, turned by <paramref name="rotation"/> radians. A ring is returned as
    /// two C-shaped halves because COCO polygons cannot have holes.
    /// </summary>
    public static IReadOnlyList<Vector2[]> Polygons(ShapeClass shape, Vector2 centre, float radius, float rotation) => shape switch
    {
        ShapeClass.Circle => [Arc(centre, radius, 0, MathF.Tau, CircleVertices, closed: true)],
        ShapeClass.Square => [Regular(centre, radius, 4, rotation + MathF.PI / 4)],
        ShapeClass.Triangle => [Regular(centre, radius, 3, rotation - MathF.PI / 2)],
        ShapeClass.Cross => [Cross(centre, radius, rotation)],
        ShapeClass.Ring => [HalfRing(centre, radius, rotation), HalfRing(centre, radius, rotation + MathF.PI)],
        _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, "unknown shape class"),
    };

    /// <summary>Shoelace area of a simple polygon.</summary>
    public static float Area(Vector2[] polygon)
    {
        var twice = 0f;
        for (var i = 0; i < polygon.Length; i++)
        {
            var a = polygon[i];
            var b = polygon[(i + 1) % polygon.Length];
            twice += a.X * b.Y - b.X * a.Y;
        }
        return MathF.Abs(twice) / 2;
    }

    private static Vector2[] Regular(Vector2 centre, float radius, int sides, float start) =>
        [.. Enumerable.Range(0, sides).Select(i => centre + radius * Direction(start + i * MathF.Tau / sides))];

    /// <summary>A plus sign: arms of half-width 0.3 r reaching out to r.</summary>
    private static Vector2[] Cross(Vector2 centre, float radius, float rotation)
    {
        var a = 0.3f * radius;
        var r = radius;
        Vector2[] local =
        [
            new(a, -r), new(a, -a), new(r, -a), new(r, a), new(a, a), new(a, r),
            new(-a, r), new(-a, a), new(-r, a), new(-r, -a), new(-a, -a), new(-a, -r),
        ];
        var (sin, cos) = MathF.SinCos(rotation);
        return [.. local.Select(p => centre + new Vector2(p.X * cos - p.Y * sin, p.X * sin + p.Y * cos))];
    }

    private static Vector2[] HalfRing(Vector2 centre, float radius, float start)
    {
        const int steps = CircleVertices / 2;
        var outer = Arc(centre, radius, start, MathF.PI, steps, closed: false);
        var inner = Arc(centre, radius * RingInnerFraction, start, MathF.PI, steps, closed: false);
        return [.. outer, .. inner.Reverse()];
    }

    private static Vector2[] Arc(Vector2 centre, float radius, float start, float sweep, int steps, bool closed)
    {
        var count = closed ? steps : steps + 1;
        return [.. Enumerable.Range(0, count).Select(i => centre + radius * Direction(start + sweep * i / steps))];
    }

    private static Vector2 Direction(float angle)
    {
        var (sin, cos) = MathF.SinCos(angle);
        return new Vector2(cos, sin);
    }
}
