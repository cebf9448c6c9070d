using System.Numerics;

namespace GppfActors.Tasks.Synthetic;

/// <summary>
/// One object of a scene: class, placement, colour and its distance from the camera (a plane at
/// <paramref name="DepthMetres"/>, or a dome rising <paramref name="BumpMetres"/> towards the camera).
/// </summary>
/// <param name="Id">Position in the scene's shape list; also the instance id in the instance map.</param>
public sealed record SceneShape(int Id, ShapeClass Class, Vector2 Centre, float Radius, float Rotation, float DepthMetres, float BumpMetres, Colour Colour)
{
    /// <summary>The outline that is both painted and written to COCO.</summary>
    public IReadOnlyList<Vector2[]> Polygons { get; } = ShapeGeometry.Polygons(Class, Centre, Radius, Rotation);

    /// <summary>Tight box of the outline as (x, y, width, height), the COCO bbox convention.</summary>
    public (float X, float Y, float Width, float Height) Bounds
    {
        get
        {
            var all = Polygons.SelectMany(p => p).ToArray();
            float x0 = all.Min(v => v.X), y0 = all.Min(v => v.Y), x1 = all.Max(v => v.X), y1 = all.Max(v => v.Y);
            return (x0, y0, x1 - x0, y1 - y0);
        }
    }

    /// <summary>Distance at a point of the shape; the dome is highest (nearest) at the centre.</summary>
    public float DepthAt(float x, float y)
    {
        var rho2 = Vector2.DistanceSquared(new Vector2(x, y), Centre) / (Radius * Radius);
        return DepthMetres - BumpMetres * MathF.Max(0, 1 - rho2);
    }
}
