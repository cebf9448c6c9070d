using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Losses;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Data;

/// <summary>
/// Instance masks kept cropped from decode to loss, against an independent reference: the whole-image masks the
/// pipeline carried before (decoded at full size, warped whole by nearest neighbour as written out here, zero-padded
/// and block-averaged with <c>avg_pool2d</c>). Every comparison is exact: the crop holds every inside pixel, the warp
/// reads the same nearest source pixel, and the block average divides the same integer count by r * r in float32.
/// </summary>
public class CroppedInstanceMaskSpecs
{
    private const int ImageWidth = 96, ImageHeight = 72;

    [Fact]
    public void Should_give_back_the_full_mask_when_polygons_runs_or_a_mask_are_cropped_and_expanded()
    {
        var random = new Random(5);
        int withPixels = 0;
        for (int i = 0; i < 40; i++)
        {
            var polygon = RandomPolygon(random);
            var full = CocoSegmentation.FromPolygons([polygon], ImageWidth, ImageHeight);
            withPixels += full.Area > 0 ? 1 : 0;

            var decoded = new CocoObject(i, 0, 0, 0, 1, 1, false, [polygon]).MaskCrop(ImageWidth, ImageHeight);
            var cropped = CroppedMask.Crop(full);
            var fromRuns = new CocoObject(i, 0, 0, 0, 1, 1, false, []) { Rle = new CocoRle(ImageHeight, ImageWidth, Runs(full)) }.MaskCrop(ImageWidth, ImageHeight);

            Assert.Equal(full.Pixels.ToArray(), decoded.ToBinaryMask(ImageWidth, ImageHeight).Pixels.ToArray());
            Assert.Equal(full.Pixels.ToArray(), cropped.ToBinaryMask(ImageWidth, ImageHeight).Pixels.ToArray());
            Assert.Equal(full.Pixels.ToArray(), fromRuns.ToBinaryMask(ImageWidth, ImageHeight).Pixels.ToArray());
            // The window is the inside pixels' box padded by 1 px, clipped: it costs the box, not the image.
            var box = full.BoundingBox();
            Assert.True(cropped.Width <= box.X2 - box.X1 + 2 && cropped.Height <= box.Y2 - box.Y1 + 2, $"{cropped.Width}x{cropped.Height} for {box}");
            Assert.True(full.Area == 0 || (decoded.X <= box.X1 && decoded.X + decoded.Width >= box.X2 && decoded.Y <= box.Y1 && decoded.Y + decoded.Height >= box.Y2));
            // Stride 1 on a grid the image's size: the targets are the mask itself.
            using var scope = NewDisposeScope();
            var expanded = MaskTargets.Expand([decoded], ImageHeight, ImageWidth, 1);
            Assert.Equal(Reference([Bytes(full)], ImageHeight, ImageWidth, 1).data<float>().ToArray(), expanded.data<float>().ToArray());
        }
        Assert.True(withPixels > 30, $"polygons with pixels {withPixels}");
        // Runs that go on from the bottom of one column to the top of the next: the window spans all rows between.
        var wrapping = Mask(ImageWidth, ImageHeight, (x, y) => (x == 3 && y >= 60) || (x == 4 && y < 5));
        var wrapped = new CocoObject(99, 0, 0, 0, 1, 1, false, []) { Rle = new CocoRle(ImageHeight, ImageWidth, Runs(wrapping)) }.MaskCrop(ImageWidth, ImageHeight);
        Assert.Equal(3, Runs(wrapping).Length);                                                // background, one foreground run, background
        Assert.Equal(wrapping.Pixels.ToArray(), wrapped.ToBinaryMask(ImageWidth, ImageHeight).Pixels.ToArray());
    }

    [Fact]
    public void Should_mirror_the_window_when_the_crop_flips()
    {
        // One L-shaped instance at x 10..13, y 5..8 of a 20 x 10 image; the whole image to 20 x 10, flipped: x -> 19 - x.
        var full = Mask(20, 10, (x, y) => (x == 10 && y is >= 5 and < 9) || (y == 8 && x is >= 10 and < 14));
        var box = new BoxAnnotation(10, 5, 14, 9, 0);

        var (boxes, masks) = CropWarp.Instances([box], [CroppedMask.Crop(full)], 20, 10, new CropWindow(0, 0, 20, 10, Flip: true), 20, 10, 1f);

        Assert.Equal([new BoxAnnotation(6, 5, 10, 9, 0)], boxes);
        var expected = Mask(20, 10, (x, y) => (x == 9 && y is >= 5 and < 9) || (y == 8 && x is >= 6 and < 10));
        Assert.Equal(expected.Pixels.ToArray(), masks[0].ToBinaryMask(20, 10).Pixels.ToArray());
        Assert.Equal(Warp(full, new CropWindow(0, 0, 20, 10, true), 20, 10), Bytes(masks[0].ToBinaryMask(20, 10)));
        // The output window is the transformed input window: x 9..15 (padded) -> 5..11, rows unchanged.
        Assert.Equal((5, 4, 6, 6), (masks[0].X, masks[0].Y, masks[0].Width, masks[0].Height));
    }

    [Fact]
    public void Should_match_the_full_mask_when_the_crop_window_reaches_past_the_image()
    {
        // Instances on the image's corners and edges (their windows clipped by the image), and windows that pad on
        // every side, zoom in and out, flipped or not.
        BinaryMask[] fulls =
        [
            Mask(ImageWidth, ImageHeight, (x, y) => x < 7 && y < 5),
            Mask(ImageWidth, ImageHeight, (x, y) => x >= ImageWidth - 9 && y >= 30 && y < 50),
            Mask(ImageWidth, ImageHeight, (x, y) => y >= ImageHeight - 3 && x is >= 20 and < 70 && (x + y) % 3 != 0),
        ];
        CropWindow[] windows =
        [
            new(-10.5, -7.25, 60, 40, false),
            new(50, 40, 70, 50, true),
            new(-20, -20, ImageWidth + 40, ImageHeight + 40, true),
            new(ImageWidth - 12.3, 25.7, 16, 9, false),
        ];
        foreach (var window in windows)
        {
            var boxes = fulls.Select((f, i) => { var b = f.BoundingBox(); return new BoxAnnotation((float)b.X1, (float)b.Y1, (float)b.X2, (float)b.Y2, i); }).ToArray();

            var (kept, masks) = CropWarp.Instances(boxes, [.. fulls.Select(CroppedMask.Crop)], ImageWidth, ImageHeight, window, 64, 48, 1f);

            Assert.NotEmpty(kept);
            for (int k = 0; k < kept.Length; k++)
            {
                Assert.Equal(Warp(fulls[kept[k].Label], window, 64, 48), Bytes(masks[k].ToBinaryMask(64, 48)));
            }
        }
    }

    [Fact]
    public void Should_be_empty_and_expand_to_zeros_when_a_mask_or_its_box_is_degenerate()
    {
        var none = CroppedMask.Crop(new BinaryMask(ImageWidth, ImageHeight, new bool[ImageWidth * ImageHeight]));
        var line = new CocoObject(1, 0, 0, 0, 1, 1, false, [[10, 10, 30, 10, 20, 10]]).MaskCrop(ImageWidth, ImageHeight);    // collinear: no area
        var outside = new CocoObject(2, 0, 0, 0, 1, 1, false, [[-30, -30, -10, -30, -10, -10]]).MaskCrop(ImageWidth, ImageHeight);
        var flatBox = new CocoObject(3, 0, 40, 20, 0.2f, 15, false, []).MaskCrop(ImageWidth, ImageHeight);                // rounds to width 0
        var tinyBox = new CocoObject(4, 0, 40, 20, 1, 1, false, []).MaskCrop(ImageWidth, ImageHeight);

        Assert.Same(CroppedMask.Empty, none);
        Assert.Same(CroppedMask.Empty, outside);
        Assert.Same(CroppedMask.Empty, flatBox);
        Assert.DoesNotContain((byte)1, line.Pixels.ToArray());
        Assert.Equal((39, 19, 3, 3), (tinyBox.X, tinyBox.Y, tinyBox.Width, tinyBox.Height));
        Assert.True(tinyBox[20, 40] && !tinyBox[19, 40] && !tinyBox[20, 41]);
        // A box the crop keeps but whose mask the window misses (a mask may stray from its box): an empty crop.
        var (kept, masks) = CropWarp.Instances([new BoxAnnotation(0, 0, 40, 40, 0)], [tinyBox], ImageWidth, ImageHeight, new CropWindow(0, 0, 30, 30, false), 30, 30, 1f);
        Assert.Single(kept);
        Assert.Same(CroppedMask.Empty, masks[0]);
        using var scope = NewDisposeScope();
        var targets = MaskTargets.Expand([none, line, masks[0], tinyBox], 24, 48, 4);
        Assert.Equal([4, 6, 12], targets.shape);
        Assert.Equal(0f, targets[..3].abs().sum().item<float>());
        Assert.Equal(1f / 16, targets[3, 5, 10].item<float>());                                 // pixel (40, 20) in block (10, 5)
        Assert.Equal(1f / 16, targets.sum().item<float>());
    }

    [Theory]
    [InlineData(4, 72, 96)]    // the grid covers the output
    [InlineData(4, 40, 56)]    // the grid is smaller: pixels past it are dropped
    [InlineData(3, 81, 102)]   // a stride that is not a power of two, and a grid larger than the output
    public void Should_build_the_loss_targets_of_the_full_masks_when_an_augmented_sample_keeps_them_cropped(int stride, int gridHeight, int gridWidth)
    {
        var random = new Random(11);
        var objects = Enumerable.Range(0, 30).Select(i => new CocoObject(i, i, 0, 0, 1, 1, false, [RandomPolygon(random)])).ToArray();
        var fulls = objects.Select(o => o.Mask(ImageWidth, ImageHeight)).ToArray();                     // the old decode
        var boxes = fulls.Select((f, i) => { var b = f.BoundingBox(); return new BoxAnnotation((float)b.X1, (float)b.Y1, (float)b.X2, (float)b.Y2, i); }).ToArray();
        var sample = new DecodedSample
        {
            Image = new RgbImage(ImageWidth, ImageHeight, new byte[ImageWidth * ImageHeight * 3]),
            SourcePath = "memory",
            Boxes = boxes,
            InstanceMasks = [.. objects.Select(o => o.MaskCrop(ImageWidth, ImageHeight))],
        };
        var augmenter = new SampleAugmenter(AugmentationOptions.Dense(96, 72));
        int flips = 0, compared = 0;
        for (int draw = 0; draw < 12; draw++)
        {
            var window = augmenter.Draw(ImageWidth, ImageHeight, new Random(draw));
            var result = augmenter.Apply(sample, draw, new Random(draw));
            flips += window.Flip ? 1 : 0;
            var kept = result.Boxes!.Select(b => b.Label).ToArray();                                  // labels are the instance indices
            if (kept.Length == 0)
            {
                continue;
            }
            compared += kept.Length;

            using var scope = NewDisposeScope();
            var expected = Reference([.. kept.Select(i => Warp(fulls[i], window, 96, 72))], 72, 96, gridHeight, gridWidth, stride);
            var actual = MaskTargets.Expand(result.InstanceMasks!, gridHeight, gridWidth, stride);

            Assert.Equal(expected.shape, actual.shape);
            Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());                  // exactly, element by element
        }
        Assert.InRange(flips, 1, 11);
        Assert.True(compared > 50, $"instances compared {compared}");
    }

    /// <summary>The old loss targets: whole masks [G, H, W] zero-padded or cut to the grid, averaged over stride blocks.</summary>
    private static Tensor Reference(byte[][] masks, int height, int width, int gridHeight, int gridWidth, int stride)
    {
        var x = tensor(masks.SelectMany(m => m).ToArray(), [masks.Length, height, width]).to_type(float32);
        x = x[.., ..Math.Min(height, gridHeight), ..Math.Min(width, gridWidth)];
        x = nn.functional.pad(x, [0, gridWidth - x.shape[2], 0, gridHeight - x.shape[1]]);
        return stride == 1 ? x : nn.functional.avg_pool2d(x.unsqueeze(1), stride, stride).squeeze(1);
    }

    private static Tensor Reference(byte[][] masks, int height, int width, int stride) => Reference(masks, height, width, height, width, stride);

    /// <summary>The whole mask through the window by nearest neighbour: output pixel centres mapped back, 0 outside the image.</summary>
    private static byte[] Warp(BinaryMask mask, CropWindow window, int outWidth, int outHeight)
    {
        var output = new byte[outWidth * outHeight];
        for (int v = 0; v < outHeight; v++)
        {
            var sy = window.Y + (v + 0.5) * window.Height / outHeight;
            for (int u = 0; u < outWidth; u++)
            {
                var k = window.Flip ? outWidth - 1 - u : u;
                var sx = window.X + (k + 0.5) * window.Width / outWidth;
                if (sx >= 0 && sx < mask.Width && sy >= 0 && sy < mask.Height && mask[(int)sy, (int)sx])
                {
                    output[v * outWidth + u] = 1;
                }
            }
        }
        return output;
    }

    private static BinaryMask Mask(int width, int height, Func<int, int, bool> inside) =>
        new(width, height, [.. Enumerable.Range(0, width * height).Select(i => inside(i % width, i / width))]);

    private static byte[] Bytes(BinaryMask mask) => [.. mask.Pixels.ToArray().Select(p => p ? (byte)1 : (byte)0)];

    /// <summary>COCO's uncompressed RLE of a mask: run lengths, background first, column-major.</summary>
    private static long[] Runs(BinaryMask mask)
    {
        var runs = new List<long>();
        bool current = false;
        long length = 0;
        for (int x = 0; x < mask.Width; x++)
        {
            for (int y = 0; y < mask.Height; y++)
            {
                if (mask[y, x] != current)
                {
                    runs.Add(length);
                    (current, length) = (!current, 0);
                }
                length++;
            }
        }
        runs.Add(length);
        return [.. runs];
    }

    /// <summary>A star-shaped polygon of 5 to 9 points, from 2 to 30 px across, anywhere including past the image's edges.</summary>
    private static float[] RandomPolygon(Random random)
    {
        double cx = random.NextDouble() * (ImageWidth + 20) - 10, cy = random.NextDouble() * (ImageHeight + 20) - 10;
        double radius = 1 + random.NextDouble() * 14;
        int n = random.Next(5, 10);
        return [.. Enumerable.Range(0, n).SelectMany(i =>
        {
            var angle = 2 * Math.PI * i / n;
            var r = radius * (0.5 + 0.5 * random.NextDouble());
            return new[] { (float)(cx + r * Math.Cos(angle)), (float)(cy + r * Math.Sin(angle)) };
        })];
    }
}
