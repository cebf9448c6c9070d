using System.Diagnostics;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;

namespace GppfActors.Bench.Loader;

/// <summary>
/// Instance masks of one batch on an LVIS-like synthetic case, the whole-image way (<see cref="FullMaskBaseline"/>,
/// <see cref="CocoObject.Mask"/>) beside the cropped way the loader uses (<see cref="CocoObject.MaskCrop"/>,
/// <see cref="CropWarp.Instances"/>): the masks' bytes in the batch, and the time to decode and to augment them.
/// Images are not decoded or warped (that cost is the same on both sides); the same windows are drawn for both.
/// </summary>
internal static class InstanceMaskBenchmark
{
    // COCO-sized source images (LVIS annotates COCO's), objects mostly small as LVIS's are.
    private const int ImageWidth = 640, ImageHeight = 480;
    private const double MinSide = 6, MaxSide = 240;
    private const int PolygonPoints = 12;

    public static void Run(InstanceMaskBenchOptions options, TextWriter output)
    {
        var images = Enumerable.Range(0, options.BatchSize).Select(i => Objects(new Random(1000 + i), options.InstancesPerImage)).ToArray();
        var augmenter = new SampleAugmenter(AugmentationOptions.Dense(options.OutputSize, options.OutputSize));
        var windows = Enumerable.Range(0, options.BatchSize).Select(i => augmenter.Draw(ImageWidth, ImageHeight, new Random(i))).ToArray();
        int size = options.OutputSize;
        output.WriteLine($"instance masks: batch {options.BatchSize} of {ImageWidth}x{ImageHeight} images, {options.InstancesPerImage} polygon instances each " +
            $"(sides {MinSide}-{MaxSide} px, log-uniform), scale jitter to {size}x{size}, median of {options.Repeats} runs, {Environment.ProcessorCount} cores");

        var fullDecode = new List<double>();
        var cropDecode = new List<double>();
        var fullAugment = new List<double>();
        var cropAugment = new List<double>();
        long fullBytes = 0, cropBytes = 0, kept = 0;
        // Before anything large exists, and in a frame of its own, so that only the batch's masks are alive in between.
        var cropHeld = HeldBytes(() => images.Select((objects, i) => CropWarp.Instances(Boxes(objects),
            [.. objects.Select(o => o.MaskCrop(ImageWidth, ImageHeight))], ImageWidth, ImageHeight, windows[i], size, size, augmenter.Options.MinBoxSidePixels).Masks).ToArray());
        for (int repeat = 0; repeat < options.Repeats; repeat++)
        {
            // Cropped: decode each mask over its box, warp only that window.
            var clock = Stopwatch.StartNew();
            var crops = images.Select(objects => objects.Select(o => o.MaskCrop(ImageWidth, ImageHeight)).ToArray()).ToArray();
            cropDecode.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();
            var batch = images.Select((objects, i) => CropWarp.Instances(Boxes(objects), crops[i], ImageWidth, ImageHeight, windows[i], size, size,
                augmenter.Options.MinBoxSidePixels).Masks).ToArray();
            cropAugment.Add(clock.Elapsed.TotalMilliseconds);
            crops = null;
            cropBytes = batch.Sum(masks => masks.Sum(m => (long)m.Width * m.Height));

            // Full: decode every mask at the image's size, warp each kept one onto the whole output.
            clock.Restart();
            var fulls = images.Select(objects => objects.Select(o => o.Mask(ImageWidth, ImageHeight)).ToArray()).ToArray();
            fullDecode.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();
            fullBytes = 0;
            kept = 0;
            for (int i = 0; i < images.Length; i++)
            {
                var boxes = CropWarp.Boxes(Boxes(images[i]), windows[i], size, size, augmenter.Options.MinBoxSidePixels);
                foreach (var box in boxes)
                {
                    fullBytes += FullMaskBaseline.Warp(fulls[i][box.Label], windows[i], size, size).Length;   // [H, W] uint8 in the batch
                }
                kept += boxes.Length;
            }
            fullAugment.Add(clock.Elapsed.TotalMilliseconds);
            if (repeat == 0)
            {
                Check(fulls[0], batch[0], images[0], windows[0], size, augmenter.Options.MinBoxSidePixels);
            }
        }

        output.WriteLine($"kept instances in the batch: {kept} of {options.BatchSize * options.InstancesPerImage}");
        output.WriteLine();
        output.WriteLine($"{"measurement",-34} {"full",12} {"cropped",12} {"ratio",8}");
        Row(output, "batch masks (MB, pixel bytes)", fullBytes / 1e6, cropBytes / 1e6);
        Row(output, "batch masks held (MB, managed)", fullBytes / 1e6, cropHeld / 1e6);
        Row(output, "decode masks (ms per batch)", Median(fullDecode), Median(cropDecode));
        Row(output, "augment masks (ms per batch)", Median(fullAugment), Median(cropAugment));
        output.WriteLine();
        output.WriteLine("full: whole-image masks decoded and warped, the batch holding [n, H, W] uint8 per image (held = the pixel bytes).");
        output.WriteLine("cropped: held = what the heap grows by while the batch's CroppedMask objects are alive (GC.GetTotalMemory, full collections).");
    }

    /// <summary>What the managed heap grows by (after full collections) while the result of <paramref name="build"/> is alive.</summary>
    private static long HeldBytes(Func<object> build)
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var result = build();
        long held = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(result);
        return held;
    }

    /// <summary>Every kept instance of one image: the cropped path's mask equals the whole-image path's, pixel for pixel.</summary>
    private static void Check(BinaryMask[] fulls, CroppedMask[] crops, CocoObject[] objects, CropWindow window, int size, float minSide)
    {
        var boxes = CropWarp.Boxes(Boxes(objects), window, size, size, minSide);
        for (int k = 0; k < boxes.Length; k++)
        {
            var expected = FullMaskBaseline.Warp(fulls[boxes[k].Label], window, size, size);
            var actual = crops[k].ToBinaryMask(size, size).Pixels;
            for (int p = 0; p < expected.Length; p++)
            {
                if ((expected[p] != 0) != actual[p])
                {
                    throw new InvalidOperationException($"instance {boxes[k].Label}: cropped and full masks differ at pixel {p}");
                }
            }
        }
    }

    private static void Row(TextWriter output, string name, double full, double cropped) =>
        output.WriteLine($"{name,-34} {full,12:F1} {cropped,12:F1} {full / cropped,7:F1}x");

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>The annotation boxes, labelled with the instance's index so a kept box names its mask.</summary>
    private static BoxAnnotation[] Boxes(CocoObject[] objects) =>
        [.. objects.Select((o, i) => new BoxAnnotation(o.X, o.Y, o.X + o.Width, o.Y + o.Height, i))];

    /// <summary>Star-shaped polygons, log-uniform in size, anywhere in the image; the box is the polygon's extent clipped to the image.</summary>
    private static CocoObject[] Objects(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var side = MinSide * Math.Pow(MaxSide / MinSide, random.NextDouble());
            double cx = random.NextDouble() * ImageWidth, cy = random.NextDouble() * ImageHeight;
            var polygon = Enumerable.Range(0, PolygonPoints).SelectMany(k =>
            {
                var angle = 2 * Math.PI * k / PolygonPoints;
                var r = side / 2 * (0.6 + 0.4 * random.NextDouble());
                return new[] { (float)(cx + r * Math.Cos(angle)), (float)(cy + r * Math.Sin(angle)) };
            }).ToArray();
            float x1 = Math.Max(0, Enumerable.Range(0, PolygonPoints).Min(k => polygon[2 * k]));
            float y1 = Math.Max(0, Enumerable.Range(0, PolygonPoints).Min(k => polygon[2 * k + 1]));
            float x2 = Math.Min(ImageWidth, Enumerable.Range(0, PolygonPoints).Max(k => polygon[2 * k]));
            float y2 = Math.Min(ImageHeight, Enumerable.Range(0, PolygonPoints).Max(k => polygon[2 * k + 1]));
            return new CocoObject(i, 0, x1, y1, x2 - x1, y2 - y1, false, [polygon]);
        })];
}
