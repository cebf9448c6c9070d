using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Tests.Support;
using Xunit;

namespace GppfActors.Tasks.Tests.Data;

public class SampleAugmenterSpecs
{
    private const byte ObjectLabel = 3;
    private const float ObjectMetres = 2f, BackgroundMetres = 10f;

    /// <summary>
    /// A 40x30 scene with one white rectangle on black: the mask, depth and box all describe the same
    /// rectangle, so after any augmentation they must still agree with each other and with the pixels.
    /// </summary>
    private static DecodedSample Rectangle(int x0 = 6, int y0 = 9, int x1 = 17, int y1 = 21)
    {
        const int w = 40, h = 30;
        var pixels = new byte[w * h * 3];
        var labels = new byte[w * h];
        var metres = new float[w * h];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var inside = x >= x0 && x < x1 && y >= y0 && y < y1;
                var p = y * w + x;
                pixels[3 * p] = pixels[3 * p + 1] = pixels[3 * p + 2] = inside ? (byte)255 : (byte)0;
                labels[p] = inside ? ObjectLabel : (byte)0;
                metres[p] = inside ? ObjectMetres : BackgroundMetres;
            }
        }
        return new DecodedSample
        {
            Image = new RgbImage(w, h, pixels),
            SourcePath = "rectangle",
            Boxes = [new BoxAnnotation(x0, y0, x1, y1, 1)],
            Mask = new LabelMask(w, h, labels),
            Depth = new DepthMap(w, h, metres),
        };
    }

    [Fact]
    public void Should_reproduce_the_normalised_pixels_when_the_window_is_the_whole_image_at_native_size()
    {
        var image = TestImages.Pattern(7, 5);

        var result = CropWarp.Image(image, CropWindow.Whole(7, 5), 7, 5);

        for (var c = 0; c < 3; c++)
        {
            for (var p = 0; p < 35; p++)
            {
                var expected = (image.Pixels[3 * p + c] / 255f - ImageNormalization.Mean[c]) / ImageNormalization.Std[c];
                Assert.Equal(expected, result[c * 35 + p], 5);
            }
        }
    }

    [Fact]
    public void Should_mirror_pixels_mask_depth_and_box_together_when_flipped()
    {
        var sample = Rectangle();
        var window = CropWindow.Whole(40, 30) with { Flip = true };

        var image = CropWarp.Image(sample.Image, window, 40, 30);
        var mask = CropWarp.Mask(sample.Mask!, window, 40, 30);
        var depth = CropWarp.Depth(sample.Depth!, window, 40, 30);
        var box = CropWarp.Boxes(sample.Boxes!, window, 40, 30, 1f).Single();

        Assert.Equal(new BoxAnnotation(40 - 17, 9, 40 - 6, 21, 1), box);
        for (var y = 0; y < 30; y++)
        {
            for (var x = 0; x < 40; x++)
            {
                var mirrored = sample.Mask!.Labels[y * 40 + (39 - x)];
                Assert.Equal(mirrored, mask[y * 40 + x]);
                Assert.Equal(mirrored == ObjectLabel ? ObjectMetres : BackgroundMetres, depth[y * 40 + x]);
                Assert.Equal(mirrored == ObjectLabel, ImageNormalization.Denormalize(image[y * 40 + x], 0) > 127);
            }
        }
    }

    [Fact]
    public void Should_keep_pixels_mask_depth_and_box_aligned_when_scale_jitter_crops()
    {
        var augmenter = new SampleAugmenter(AugmentationOptions.Dense(32, 32));
        var sample = Rectangle();
        var random = new Random(17);
        int padded = 0, withObject = 0;
        for (var draw = 0; draw < 40; draw++)
        {
            var result = augmenter.Apply(sample, 0, random);
            var mask = result.Mask!;
            var depth = result.Depth!;
            var objectPixels = 0;
            for (var v = 0; v < 32; v++)
            {
                for (var u = 0; u < 32; u++)
                {
                    var p = v * 32 + u;
                    var red = result.Image[p];
                    if (mask[p] == LabelMask.Ignore)
                    {
                        padded++;
                        // Padding: ignore label, no depth, and the mean colour (0 after normalisation).
                        Assert.Equal(0f, depth[p]);
                        Assert.Equal(0f, red);
                        continue;
                    }
                    Assert.Equal(mask[p] == ObjectLabel ? ObjectMetres : BackgroundMetres, depth[p]);
                    if (mask[p] == ObjectLabel)
                    {
                        objectPixels++;
                        var box = Assert.Single(result.Boxes!);
                        Assert.InRange(u + 0.5f, box.X1, box.X2);
                        Assert.InRange(v + 0.5f, box.Y1, box.Y2);
                        // Bilinear blur may soften the rim; deep inside the object the pixel is bright.
                        Assert.True(ImageNormalization.Denormalize(red, 0) > 60, $"draw {draw}: object pixel ({u}, {v}) is dark");
                    }
                }
            }
            Assert.Equal(objectPixels > 0, result.Boxes!.Count > 0);
            withObject += objectPixels > 0 ? 1 : 0;
        }
        // The draws must have exercised both zoom-out (padding) and crops that keep the object.
        Assert.True(padded > 0 && withObject > 10, $"padded pixels {padded}, draws with the object {withObject}");
    }

    [Fact]
    public void Should_pad_with_ignore_no_depth_and_mean_colour_when_the_zoomed_image_is_smaller_than_the_output()
    {
        var augmenter = new SampleAugmenter(AugmentationOptions.Dense(40, 30) with { MinScale = 0.5, MaxScale = 0.5, FlipProbability = 0 });

        var result = augmenter.Apply(Rectangle(), 0, new Random(1));

        for (var v = 0; v < 30; v++)
        {
            for (var u = 0; u < 40; u++)
            {
                var padded = u >= 20 || v >= 15;
                var p = v * 40 + u;
                Assert.Equal(padded, result.Mask![p] == LabelMask.Ignore);
                Assert.Equal(padded, result.Depth![p] == 0f);
            }
        }
        Assert.Equal(new BoxAnnotation(3, 4.5f, 8.5f, 10.5f, 1), result.Boxes!.Single());
    }

    [Fact]
    public void Should_draw_crops_inside_the_image_within_the_scale_and_ratio_ranges_when_random_resized_crop()
    {
        var augmenter = new SampleAugmenter(AugmentationOptions.Classification(32));
        var random = new Random(5);
        var flips = 0;
        for (var draw = 0; draw < 500; draw++)
        {
            var w = augmenter.Draw(64, 48, random);
            Assert.InRange(w.X, 0, 64 - w.Width);
            Assert.InRange(w.Y, 0, 48 - w.Height);
            Assert.InRange(w.Width * w.Height / (64.0 * 48), 0.07, 1.0);
            Assert.InRange(w.Width / w.Height, 0.7, 1.45);
            flips += w.Flip ? 1 : 0;
        }
        Assert.InRange(flips, 200, 300);
    }

    [Fact]
    public void Should_drop_a_box_when_the_crop_leaves_less_than_the_minimum_side()
    {
        var window = new CropWindow(20, 0, 20, 30, false);

        var boxes = CropWarp.Boxes([new BoxAnnotation(2, 2, 10, 10, 0), new BoxAnnotation(18, 2, 30, 10, 1)], window, 20, 30, 1f);

        Assert.Equal([new BoxAnnotation(0, 2, 10, 10, 1)], boxes);
    }
    [Fact]
    public void Should_move_each_kept_instance_mask_with_its_box_and_drop_it_with_its_box_when_cropped_zoomed_and_flipped()
    {
        // An 8 x 4 image with two instances: the first, at x 0..1, falls outside the window and is dropped; the
        // second is the pixels (3, 1) and (3, 2). Window x 2..6, y 0..4 to 8 x 8 (zoom 2), flipped: x -> 8 - 2 (x - 2).
        var first = new BinaryMask(8, 4, [.. Enumerable.Range(0, 32).Select(i => i % 8 == 0)]);
        var second = new BinaryMask(8, 4, [.. Enumerable.Range(0, 32).Select(i => i % 8 == 3 && i / 8 is 1 or 2)]);
        BoxAnnotation[] boxes = [new(0, 0, 1, 4, 0), new(3, 1, 4, 3, 2)];

        var (kept, masks) = CropWarp.Instances(boxes, [CroppedMask.Crop(first), CroppedMask.Crop(second)], 8, 4, new CropWindow(2, 0, 4, 4, Flip: true), 8, 8, minSide: 1);

        Assert.Equal([new BoxAnnotation(4, 2, 6, 6, 2)], kept);
        var mask = Assert.Single(masks);
        // Hand-made: columns 4 and 5 of rows 2..5 (source column 3 lands on 8 - 2 - 2 = 4 .. 6, source rows 1..2 on 2..6).
        var expected = new byte[64];
        foreach (var (u, v) in new[] { (4, 2), (5, 2), (4, 3), (5, 3), (4, 4), (5, 4), (4, 5), (5, 5) })
        {
            expected[v * 8 + u] = 1;
        }
        Assert.Equal(expected.Select(p => p != 0), mask.ToBinaryMask(8, 8).Pixels.ToArray());
    }

    [Fact]
    public void Should_keep_every_instance_mask_inside_its_box_when_scale_jitter_crops_and_flips()
    {
        var augmenter = new SampleAugmenter(AugmentationOptions.Dense(32, 32));
        var plain = Rectangle();
        var inside = new bool[40 * 30];
        for (var y = 9; y < 21; y++)
        {
            for (var x = 6; x < 17; x++)
            {
                inside[y * 40 + x] = true;
            }
        }
        var sample = new DecodedSample { Image = plain.Image, SourcePath = plain.SourcePath, Boxes = plain.Boxes, InstanceMasks = [CroppedMask.Crop(new BinaryMask(40, 30, inside))] };
        var random = new Random(17);
        int withObject = 0;
        for (var draw = 0; draw < 40; draw++)
        {
            var result = augmenter.Apply(sample, 0, random);
            Assert.Equal(result.Boxes!.Count, result.InstanceMasks!.Count);
            if (result.Boxes.Count == 0)
            {
                continue;
            }
            withObject++;
            var box = result.Boxes[0];
            var mask = result.InstanceMasks[0].ToBinaryMask(32, 32).Pixels.ToArray();
            for (var p = 0; p < mask.Length; p++)
            {
                int u = p % 32, v = p / 32;
                // The white pixels are the object: the mask must cover the bright ones, miss the dark ones (bilinear blur
                // leaves the rim in between), and lie in the box.
                var red = ImageNormalization.Denormalize(result.Image[p], 0);
                if (red > 200 || red < 50)
                {
                    Assert.Equal(red > 200, mask[p]);
                }
                if (mask[p])
                {
                    Assert.InRange(u + 0.5f, box.X1, box.X2);
                    Assert.InRange(v + 0.5f, box.Y1, box.Y2);
                }
            }
        }
        Assert.True(withObject > 10, $"draws with the object {withObject}");
    }
}
