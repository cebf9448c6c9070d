using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Synthetic;

/// <summary>
/// Paints a <see cref="Scene"/> far-to-near into pixel buffers and derives the label mask, instance map and
/// depth from the same coverage, so annotations agree with the pixels by construction.
/// </summary>
public static class SceneRenderer
{
    /// <summary>A pixel at least this covered belongs to the shape; at most <see cref="BackgroundCoverage"/> it keeps what was under it.</summary>
    public const float OwnedCoverage = 0.75f;

    public const float BackgroundCoverage = 0.25f;

    /// <summary>Duotone palettes of the Palette domain: (dark end, light end).</summary>
    private static readonly (Colour Dark, Colour Light)[] Palettes =
    [
        (new(20, 30, 80), new(250, 200, 80)),
        (new(60, 10, 40), new(120, 240, 200)),
        (new(10, 60, 20), new(240, 240, 210)),
    ];

    /// <summary>Posterisation levels of the Palette domain.</summary>
    private const int PaletteLevels = 8;

    public static int PaletteCount => Palettes.Length;

    public static RenderedScene Render(Scene scene)
    {
        int w = scene.Width, h = scene.Height;
        var rgb = new Colour[w * h];
        var depth = new float[w * h];
        var semantic = new byte[w * h];
        var instance = new int[w * h];
        Array.Fill(instance, -1);
        PaintBackground(scene, rgb, depth);

        var backgroundMean = Colour.Lerp(scene.Style.BackgroundA, scene.Style.BackgroundB, 0.5f);
        // Far to near (ties by id), so nearer shapes occlude farther ones in colour, labels and depth alike.
        foreach (var shape in scene.Shapes.OrderByDescending(s => s.DepthMetres).ThenBy(s => s.Id))
        {
            var coverage = PolygonRaster.Coverage(shape.Polygons, w, h);
            // Haze: farther shapes fade towards the background, one of the monocular depth cues.
            var haze = scene.Style.FogStrength * Math.Clamp((shape.DepthMetres - SceneSampler.NearMetres) / (SceneSampler.FarMetres - SceneSampler.NearMetres), 0, 1);
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    var p = y * w + x;
                    var c = coverage[p];
                    if (c <= 0)
                    {
                        continue;
                    }
                    float px = x + 0.5f, py = y + 0.5f;
                    var shapeDepth = shape.DepthAt(px, py);
                    // Domes are lit from the front: brighter where nearer, a shading cue for the bump.
                    var shade = shape.BumpMetres > 0 ? 0.8f + 0.2f * (shape.DepthMetres - shapeDepth) / shape.BumpMetres : 1f;
                    var colour = Colour.Lerp(shape.Colour.Scale(shade), backgroundMean, haze);
                    rgb[p] = Colour.Lerp(rgb[p], colour, c);
                    if (c >= OwnedCoverage)
                    {
                        semantic[p] = (byte)((int)shape.Class + 1);
                        instance[p] = shape.Id;
                        depth[p] = shapeDepth;
                    }
                    else if (c > BackgroundCoverage)
                    {
                        // A half-covered pixel mixes two objects: no class and no depth is honest for it.
                        semantic[p] = LabelMask.Ignore;
                        instance[p] = -1;
                        depth[p] = 0;
                    }
                }
            }
        }
        var pixels = Finish(scene, rgb);
        return new RenderedScene
        {
            Image = new RgbImage(w, h, pixels),
            Semantic = new LabelMask(w, h, semantic),
            Instance = instance,
            Depth = new DepthMap(w, h, depth),
        };
    }

    private static void PaintBackground(Scene scene, Colour[] rgb, float[] depth)
    {
        int w = scene.Width, h = scene.Height;
        var style = scene.Style;
        var (sin, cos) = MathF.SinCos(style.StripeAngle);
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                float px = x + 0.5f, py = y + 0.5f;
                rgb[y * w + x] = scene.Domain switch
                {
                    SceneDomain.Flat => style.BackgroundA,
                    SceneDomain.Stripes => Frac((px * cos + py * sin) / style.StripePeriod) < 0.5f ? style.BackgroundA : style.BackgroundB,
                    _ => Colour.Lerp(style.BackgroundA, style.BackgroundB, py / h),
                };
                depth[y * w + x] = scene.Background.DepthAt(px / w, py / h);
            }
        }
    }

    /// <summary>Applies the domain's global look (low light and noise, or the palette) and rounds to bytes.</summary>
    private static byte[] Finish(Scene scene, Colour[] rgb)
    {
        var style = scene.Style;
        var noise = new Random(style.NoiseSeed);
        var (dark, light) = Palettes[style.PaletteIndex];
        var pixels = new byte[rgb.Length * 3];
        for (var p = 0; p < rgb.Length; p++)
        {
            var c = rgb[p];
            if (scene.Domain == SceneDomain.LowLight)
            {
                c = c.Scale(style.Gain);
                c = new Colour(c.R + Gaussian(noise) * style.NoiseSigma, c.G + Gaussian(noise) * style.NoiseSigma, c.B + Gaussian(noise) * style.NoiseSigma);
            }
            else if (scene.Domain == SceneDomain.Palette)
            {
                var level = MathF.Min(PaletteLevels - 1, MathF.Floor(c.Luminance / 256f * PaletteLevels));
                c = Colour.Lerp(dark, light, level / (PaletteLevels - 1));
            }
            pixels[3 * p] = ToByte(c.R);
            pixels[3 * p + 1] = ToByte(c.G);
            pixels[3 * p + 2] = ToByte(c.B);
        }
        return pixels;
    }

    /// <summary>Box-Muller on the image's own noise stream.</summary>
    private static float Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    private static float Frac(float v) => v - MathF.Floor(v);

    private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v), 0, 255);
}
