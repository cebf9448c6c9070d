namespace GppfActors.Tasks.Data;

/// <summary>
/// Draws a task's random crop window and maps a decoded sample through it. Pure: the same sample and the
/// same <see cref="Random"/> state give the same output, which is what lets a step be replayed.
/// </summary>
public sealed class SampleAugmenter
{
    private const int RandomResizedCropAttempts = 10;

    public SampleAugmenter(AugmentationOptions options) => Options = options.Validate();

    public AugmentationOptions Options { get; }

    public AugmentedSample Apply(DecodedSample sample, long sampleIndex, Random random)
    {
        var window = Draw(sample.Image.Width, sample.Image.Height, random);
        int w = Options.OutputWidth, h = Options.OutputHeight;
        if (sample.Boxes is not null && sample.InstanceMasks is not null)
        {
            var (boxes, masks) = CropWarp.Instances(sample.Boxes, sample.InstanceMasks, sample.Image.Width, sample.Image.Height, window, w, h,
                Options.MinBoxSidePixels);
            return new AugmentedSample
            {
                SampleIndex = sampleIndex,
                Width = w,
                Height = h,
                Image = CropWarp.Image(sample.Image, window, w, h),
                ClassLabel = sample.ClassLabel,
                Boxes = boxes,
                InstanceMasks = masks,
            };
        }
        return new AugmentedSample
        {
            SampleIndex = sampleIndex,
            Width = w,
            Height = h,
            Image = CropWarp.Image(sample.Image, window, w, h),
            ClassLabel = sample.ClassLabel,
            Boxes = sample.Boxes is null ? null : CropWarp.Boxes(sample.Boxes, window, w, h, Options.MinBoxSidePixels),
            Mask = sample.Mask is null ? null : CropWarp.Mask(sample.Mask, window, w, h),
            Depth = sample.Depth is null ? null : CropWarp.Depth(sample.Depth, window, w, h),
        };
    }

    /// <summary>The crop window for a source image; the order of draws is fixed, so streams replay.</summary>
    public CropWindow Draw(int width, int height, Random random)
    {
        var window = Options.Kind switch
        {
            AugmentationKind.RandomResizedCrop => RandomResizedCrop(width, height, random),
            AugmentationKind.ScaleJitterCrop => ScaleJitterCrop(width, height, random),
            _ => CropWindow.Whole(width, height),
        };
        var flip = Options.FlipProbability > 0 && random.NextDouble() < Options.FlipProbability;
        return window with { Flip = flip };
    }

    /// <summary>torchvision's RandomResizedCrop.get_params, including its centre-crop fallback.</summary>
    private CropWindow RandomResizedCrop(int width, int height, Random random)
    {
        double area = width * height;
        double logMin = Math.Log(Options.MinAspectRatio), logMax = Math.Log(Options.MaxAspectRatio);
        for (var attempt = 0; attempt < RandomResizedCropAttempts; attempt++)
        {
            var target = area * Uniform(random, Options.MinScale, Options.MaxScale);
            var aspect = Math.Exp(Uniform(random, logMin, logMax));
            var w = (int)Math.Round(Math.Sqrt(target * aspect));
            var h = (int)Math.Round(Math.Sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                var y = random.Next(height - h + 1);
                var x = random.Next(width - w + 1);
                return new CropWindow(x, y, w, h, false);
            }
        }
        double ratio = (double)width / height;
        int cw = width, ch = height;
        if (ratio < Options.MinAspectRatio)
        {
            ch = (int)Math.Round(width / Options.MinAspectRatio);
        }
        else if (ratio > Options.MaxAspectRatio)
        {
            cw = (int)Math.Round(height * Options.MaxAspectRatio);
        }
        return new CropWindow((width - cw) / 2, (height - ch) / 2, cw, ch, false);
    }

    /// <summary>
    /// Large-scale-jitter style: zoom by a random factor around "image fits the output", then take a random
    /// output-sized crop, or pad on the right and bottom when the zoomed image is smaller.
    /// </summary>
    private CropWindow ScaleJitterCrop(int width, int height, Random random)
    {
        var fit = Math.Min((double)Options.OutputWidth / width, (double)Options.OutputHeight / height);
        var scale = fit * Uniform(random, Options.MinScale, Options.MaxScale);
        var slackX = width * scale - Options.OutputWidth;
        var slackY = height * scale - Options.OutputHeight;
        var offsetX = slackX > 0 ? random.NextDouble() * slackX : 0;
        var offsetY = slackY > 0 ? random.NextDouble() * slackY : 0;
        return new CropWindow(offsetX / scale, offsetY / scale, Options.OutputWidth / scale, Options.OutputHeight / scale, false);
    }

    private static double Uniform(Random random, double min, double max) => min + (max - min) * random.NextDouble();
}
