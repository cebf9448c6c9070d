using System.Numerics;
using GppfActors.Tasks.Synthetic;
using Xunit;

namespace GppfActors.Tasks.Tests.Synthetic;

public class PolygonRasterSpecs
{
    /// <summary>Independent reference: ray-casting point-in-polygon at every sample point, no scanlines.</summary>
    private static float[] BruteForce(IReadOnlyList<Vector2[]> polygons, int width, int height)
    {
        var result = new float[width * height];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var hits = 0;
                for (var j = 0; j < PolygonRaster.Grid; j++)
                {
                    for (var i = 0; i < PolygonRaster.Grid; i++)
                    {
                        var p = new Vector2(x + (i + 0.5f) / PolygonRaster.Grid, y + (j + 0.5f) / PolygonRaster.Grid);
                        if (polygons.Any(poly => Inside(poly, p)))
                        {
                            hits++;
                        }
                    }
                }
                result[y * width + x] = hits / (float)(PolygonRaster.Grid * PolygonRaster.Grid);
            }
        }
        return result;
    }

    private static bool Inside(Vector2[] poly, Vector2 p)
    {
        var inside = false;
        for (int i = 0, j = poly.Length - 1; i < poly.Length; j = i++)
        {
            if ((poly[i].Y > p.Y) != (poly[j].Y > p.Y) &&
                p.X < (poly[j].X - poly[i].X) * (p.Y - poly[i].Y) / (poly[j].Y - poly[i].Y) + poly[i].X)
            {
                inside = !inside;
            }
        }
        return inside;
    }

    [Theory]
    [InlineData(ShapeClass.Circle)]
    [InlineData(ShapeClass.Square)]
    [InlineData(ShapeClass.Triangle)]
    [InlineData(ShapeClass.Cross)]
    [InlineData(ShapeClass.Ring)]
    public void Should_match_point_in_polygon_sampling_when_rasterising_a_shape(ShapeClass shape)
    {
        var polygons = ShapeGeometry.Polygons(shape, new Vector2(10.3f, 9.7f), 7.6f, 0.4f);

        var coverage = PolygonRaster.Coverage(polygons, 21, 20);

        Assert.Equal(BruteForce(polygons, 21, 20), coverage);
    }

    [Fact]
    public void Should_cover_the_polygon_area_when_summing_coverage()
    {
        var ring = ShapeGeometry.Polygons(ShapeClass.Ring, new Vector2(16, 16), 12, 0.1f);

        var total = PolygonRaster.Coverage(ring, 32, 32).Sum();

        var area = ring.Sum(ShapeGeometry.Area);
        Assert.InRange(total, area * 0.97f, area * 1.03f);
        // The hole is really a hole: the analytic annulus area, not the full disc.
        Assert.InRange(area, MathF.PI * 144 * (1 - 0.55f * 0.55f) * 0.97f, MathF.PI * 144 * (1 - 0.55f * 0.55f));
    }
}
