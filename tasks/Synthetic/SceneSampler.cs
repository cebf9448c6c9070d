using System.Numerics;

namespace GppfActors.Tasks.Synthetic;

/// <summary>
/// Draws random scenes: classification scenes with one dominant shape, and dense scenes (detection,
/// segmentation, depth) with several shapes whose apparent size shrinks with distance, so the image itself
/// carries depth cues (size, haze) a model can learn from.
/// </summary>
public static class SceneSampler
{
    /// <summary>Nearest and farthest shape distance in dense scenes, metres.</summary>
    public const float NearMetres = 2f, FarMetres = 6f;

    /// <summary>Shape radius in pixels times distance in metres, as a fraction of the image width (a pinhole camera).</summary>
    private const float FocalFraction = 0.4f;

    /// <summary>Largest share of the smaller of two boxes another box may cover: keeps every object mostly visible.</summary>
    private const float MaxBoxOverlap = 0.3f;

    private const int PlacementAttempts = 30;

    /// <summary>A scene whose dominant shape is of class <paramref name="label"/>, plus up to two tiny distractors behind it.</summary>
    public static Scene Classification(Random random, int size, ShapeClass label, SceneDomain domain)
    {
        var style = DrawStyle(random, domain, size, out var shapeLight);
        var jitter = 0.1f * size;
        var centre = new Vector2(size / 2f + Uniform(random, -jitter, jitter), size / 2f + Uniform(random, -jitter, jitter));
        var radius = Uniform(random, 0.25f, 0.39f) * size;
        var shapes = new List<SceneShape>
        {
            new(0, label, centre, radius, Uniform(random, 0, MathF.Tau), 3f, 0f, DrawShapeColour(random, shapeLight)),
        };
        var distractors = random.NextDouble() < 0.5 ? 0 : random.Next(1, 3);
        for (var d = 0; d < distractors; d++)
        {
            var cls = ShapeClasses.All[random.Next(ShapeClasses.All.Count)];
            var r = Uniform(random, 0.05f, 0.09f) * size;
            var colour = DrawShapeColour(random, shapeLight);
            var rotation = Uniform(random, 0, MathF.Tau);
            for (var attempt = 0; attempt < PlacementAttempts; attempt++)
            {
                var c = new Vector2(Uniform(random, r + 1, size - r - 1), Uniform(random, r + 1, size - r - 1));
                var candidate = new SceneShape(shapes.Count, cls, c, r, rotation, 5f, 0f, colour);
                if (shapes.All(s => Overlap(s.Bounds, candidate.Bounds) == 0))
                {
                    shapes.Add(candidate);
                    break;
                }
            }
        }
        return new Scene(size, size, domain, style, DrawBackground(random), shapes);
    }

    /// <summary>One to four shapes at random distances in front of a tilted background plane.</summary>
    public static Scene Dense(Random random, int width, int height, SceneDomain domain)
    {
        var style = DrawStyle(random, domain, width, out var shapeLight);
        var background = DrawBackground(random);
        var count = random.Next(1, 5);
        var shapes = new List<SceneShape>();
        for (var k = 0; k < count; k++)
        {
            var cls = ShapeClasses.All[random.Next(ShapeClasses.All.Count)];
            var depth = Uniform(random, NearMetres, FarMetres);
            var radius = FocalFraction * width / depth * Uniform(random, 0.85f, 1.15f);
            var bump = random.NextDouble() < 0.5 ? 0f : Uniform(random, 0.2f, 0.8f);
            var colour = DrawShapeColour(random, shapeLight);
            var rotation = Uniform(random, 0, MathF.Tau);
            for (var attempt = 0; attempt < PlacementAttempts; attempt++)
            {
                var c = new Vector2(Uniform(random, radius + 1, width - radius - 1), Uniform(random, radius + 1, height - radius - 1));
                var candidate = new SceneShape(shapes.Count, cls, c, radius, rotation, depth, bump, colour);
                if (shapes.All(s => Overlap(s.Bounds, candidate.Bounds) <= MaxBoxOverlap))
                {
                    shapes.Add(candidate);
                    break;
                }
            }
        }
        return new Scene(width, height, domain, style, background, shapes);
    }

    /// <summary>Background and shapes sit in opposite luminance bands, so every shape has contrast in every domain.</summary>
    private static SceneStyle DrawStyle(Random random, SceneDomain domain, int width, out bool shapeLight)
    {
        var lightBackground = random.NextDouble() < 0.5;
        shapeLight = !lightBackground;
        var a = Colour.FromHue(random.NextSingle(), Uniform(random, 0f, 0.7f), BandLuminance(random, lightBackground));
        var b = Colour.FromHue(random.NextSingle(), Uniform(random, 0f, 0.7f), BandLuminance(random, lightBackground));
        var angle = Uniform(random, 0, MathF.PI);
        var period = Uniform(random, 3f, 8f) * width / 32f;
        var gain = Uniform(random, 0.25f, 0.45f);
        var sigma = Uniform(random, 3f, 8f);
        var palette = random.Next(SceneRenderer.PaletteCount);
        var noiseSeed = random.Next();
        var fog = Uniform(random, 0.2f, 0.5f);
        // Every value is drawn whatever the domain, so the stream (and later draws) do not depend on it.
        return domain == SceneDomain.LowLight
            ? new SceneStyle(a, b, angle, period, gain, sigma, palette, noiseSeed, fog)
            : new SceneStyle(a, b, angle, period, 1f, 0f, palette, noiseSeed, fog);
    }

    private static BackgroundPlane DrawBackground(Random random) =>
        new(Uniform(random, 12f, 18f), Uniform(random, -3f, 3f), Uniform(random, -6f, 6f));

    private static Colour DrawShapeColour(Random random, bool light) =>
        Colour.FromHue(random.NextSingle(), Uniform(random, 0.3f, 1f), BandLuminance(random, light));

    private static float BandLuminance(Random random, bool light) => light ? Uniform(random, 150f, 235f) : Uniform(random, 25f, 95f);

    /// <summary>Intersection of two boxes over the area of the smaller one.</summary>
    private static float Overlap((float X, float Y, float Width, float Height) a, (float X, float Y, float Width, float Height) b)
    {
        var w = MathF.Min(a.X + a.Width, b.X + b.Width) - MathF.Max(a.X, b.X);
        var h = MathF.Min(a.Y + a.Height, b.Y + b.Height) - MathF.Max(a.Y, b.Y);
        if (w <= 0 || h <= 0)
        {
            return 0;
        }
        return w * h / MathF.Min(a.Width * a.Height, b.Width * b.Height);
    }

    private static float Uniform(Random random, float min, float max) => min + (max - min) * random.NextSingle();
}
