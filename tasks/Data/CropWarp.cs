using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Data;

/// <summary>
/// Resamples an image and its targets through a <see cref="CropWindow"/>: bilinear for the image, nearest
/// neighbour for masks and depth (interpolating class ids or depth across an edge invents values that are in
/// neither object), and the same affine map for boxes.
/// </summary>
public static class CropWarp
{
    /// <summary>Normalised image [3, outH, outW]; padding is the ImageNet mean, i.e. 0 after normalisation.</summary>
    public static float[] Image(RgbImage image, CropWindow window, int outWidth, int outHeight)
    {
        var xs = BilinearTaps(window.X, window.Width, image.Width, outWidth, window.Flip);
        var ys = BilinearTaps(window.Y, window.Height, image.Height, outHeight, flip: false);
        var plane = outWidth * outHeight;
        var result = new float[3 * plane];
        var src = image.Pixels;
        var stride = image.Width * 3;
        for (var v = 0; v < outHeight; v++)
        {
            var ty = ys[v];
            if (ty.Outside)
            {
                continue;
            }
            for (var u = 0; u < outWidth; u++)
            {
                var tx = xs[u];
                if (tx.Outside)
                {
                    continue;
                }
                var r0 = ty.I0 * stride;
                var r1 = ty.I1 * stride;
                var c0 = tx.I0 * 3;
                var c1 = tx.I1 * 3;
                for (var c = 0; c < 3; c++)
                {
                    var top = src[r0 + c0 + c] + (src[r0 + c1 + c] - src[r0 + c0 + c]) * tx.Frac;
                    var bottom = src[r1 + c0 + c] + (src[r1 + c1 + c] - src[r1 + c0 + c]) * tx.Frac;
                    result[c * plane + v * outWidth + u] = ImageNormalization.Normalize(top + (bottom - top) * ty.Frac, c);
                }
            }
        }
        return result;
    }

    /// <summary>Labels [outH, outW] by nearest neighbour; padding is <see cref="LabelMask.Ignore"/>.</summary>
    public static byte[] Mask(LabelMask mask, CropWindow window, int outWidth, int outHeight)
    {
        var xs = NearestTaps(window.X, window.Width, mask.Width, outWidth, window.Flip);
        var ys = NearestTaps(window.Y, window.Height, mask.Height, outHeight, flip: false);
        var result = new byte[outWidth * outHeight];
        Array.Fill(result, LabelMask.Ignore);
        for (var v = 0; v < outHeight; v++)
        {
            for (var u = 0; u < outWidth; u++)
            {
                if (ys[v] >= 0 && xs[u] >= 0)
                {
                    result[v * outWidth + u] = mask.Labels[ys[v] * mask.Width + xs[u]];
                }
            }
        }
        return result;
    }

    /// <summary>Depth [outH, outW] in metres by nearest neighbour; padding is 0 (no measurement).</summary>
    /// <remarks>Values are not rescaled with the zoom: they stay the measured metres of the pixel they came from.</remarks>
    public static float[] Depth(DepthMap depth, CropWindow window, int outWidth, int outHeight)
    {
        var xs = NearestTaps(window.X, window.Width, depth.Width, outWidth, window.Flip);
        var ys = NearestTaps(window.Y, window.Height, depth.Height, outHeight, flip: false);
        var result = new float[outWidth * outHeight];
        for (var v = 0; v < outHeight; v++)
        {
            for (var u = 0; u < outWidth; u++)
            {
                if (ys[v] >= 0 && xs[u] >= 0)
                {
                    result[v * outWidth + u] = depth.Metres[ys[v] * depth.Width + xs[u]];
                }
            }
        }
        return result;
    }

    /// <summary>Boxes mapped into output pixels, clipped to the output, and dropped when a side ends up below <paramref name="minSide"/>.</summary>
    public static BoxAnnotation[] Boxes(IReadOnlyList<BoxAnnotation> boxes, CropWindow window, int outWidth, int outHeight, float minSide) =>
        [.. KeptBoxes(boxes, window, outWidth, outHeight, minSide).Select(k => k.Box)];

    /// <summary>
    /// Instances (a box and its mask) through the window: boxes as <see cref="Boxes"/> maps them, each kept box's
    /// mask by nearest neighbour as <see cref="Mask"/> maps labels (1 inside; 0 outside and in padding). The masks
    /// of an image of <paramref name="imageWidth"/> x <paramref name="imageHeight"/> stay cropped: the output window
    /// is the set of output pixels whose nearest source pixel lies in the input window (the input window
    /// transformed), so only those are resampled, and every output pixel outside it is 0 as it would be when the
    /// whole image's mask is warped.
    /// </summary>
    public static (BoxAnnotation[] Boxes, CroppedMask[] Masks) Instances(IReadOnlyList<BoxAnnotation> boxes, IReadOnlyList<CroppedMask> masks,
        int imageWidth, int imageHeight, CropWindow window, int outWidth, int outHeight, float minSide)
    {
        if (masks.Count != boxes.Count)
        {
            throw new ArgumentException($"{boxes.Count} boxes but {masks.Count} instance masks", nameof(masks));
        }
        var kept = KeptBoxes(boxes, window, outWidth, outHeight, minSide);
        // One set of taps for every instance: they depend only on the window and the image's size.
        var xs = NearestTaps(window.X, window.Width, imageWidth, outWidth, window.Flip);
        var ys = NearestTaps(window.Y, window.Height, imageHeight, outHeight, flip: false);
        var result = new CroppedMask[kept.Count];
        for (var k = 0; k < kept.Count; k++)
        {
            var mask = masks[kept[k].Index];
            if (mask.X + mask.Width > imageWidth || mask.Y + mask.Height > imageHeight)
            {
                throw new ArgumentException($"instance {kept[k].Index}: a {mask.Width}x{mask.Height} crop at ({mask.X}, {mask.Y}) does not fit the {imageWidth}x{imageHeight} image", nameof(masks));
            }
            // Taps are monotone where they are not -1 (outside the image, never in a window), so each range is one run.
            var (u0, u1) = TapRange(xs, mask.X, mask.Width);
            var (v0, v1) = TapRange(ys, mask.Y, mask.Height);
            if (u1 <= u0 || v1 <= v0)
            {
                result[k] = CroppedMask.Empty;
                continue;
            }
            var source = mask.Pixels;
            int width = u1 - u0;
            var output = new byte[width * (v1 - v0)];
            for (var v = v0; v < v1; v++)
            {
                var row = (ys[v] - mask.Y) * mask.Width - mask.X;
                for (var u = u0; u < u1; u++)
                {
                    output[(v - v0) * width + u - u0] = source[row + xs[u]];
                }
            }
            result[k] = new CroppedMask(u0, v0, width, v1 - v0, output);
        }
        return ([.. kept.Select(k => k.Box)], result);
    }

    /// <summary>The output positions [first, end) whose tap lies in [start, start + extent).</summary>
    private static (int First, int End) TapRange(int[] taps, int start, int extent)
    {
        int first = -1, end = -1;
        for (var u = 0; u < taps.Length; u++)
        {
            if (taps[u] >= start && taps[u] < start + extent)
            {
                if (first < 0)
                {
                    first = u;
                }
                end = u + 1;
            }
        }
        return first < 0 ? (0, 0) : (first, end);
    }

    private static List<(BoxAnnotation Box, int Index)> KeptBoxes(IReadOnlyList<BoxAnnotation> boxes, CropWindow window, int outWidth, int outHeight, float minSide)
    {
        var sx = outWidth / window.Width;
        var sy = outHeight / window.Height;
        var result = new List<(BoxAnnotation, int)>(boxes.Count);
        for (var i = 0; i < boxes.Count; i++)
        {
            var b = boxes[i];
            var x1 = (b.X1 - window.X) * sx;
            var x2 = (b.X2 - window.X) * sx;
            if (window.Flip)
            {
                (x1, x2) = (outWidth - x2, outWidth - x1);
            }
            var y1 = (b.Y1 - window.Y) * sy;
            var y2 = (b.Y2 - window.Y) * sy;
            var box = new BoxAnnotation(
                (float)Math.Clamp(x1, 0, outWidth), (float)Math.Clamp(y1, 0, outHeight),
                (float)Math.Clamp(x2, 0, outWidth), (float)Math.Clamp(y2, 0, outHeight), b.Label);
            if (box.Width >= minSide && box.Height >= minSide)
            {
                result.Add((box, i));
            }
        }
        return result;
    }

    /// <summary>Source column of each output column's centre (after the flip), or -1 where it falls outside the image.</summary>
    internal static int[] NearestTaps(double start, double extent, int sourceSize, int outSize, bool flip)
    {
        var taps = new int[outSize];
        for (var u = 0; u < outSize; u++)
        {
            var k = flip ? outSize - 1 - u : u;
            var s = start + (k + 0.5) * extent / outSize;
            taps[u] = s >= 0 && s < sourceSize ? (int)Math.Floor(s) : -1;
        }
        return taps;
    }

    private static BilinearTap[] BilinearTaps(double start, double extent, int sourceSize, int outSize, bool flip)
    {
        var taps = new BilinearTap[outSize];
        for (var u = 0; u < outSize; u++)
        {
            var k = flip ? outSize - 1 - u : u;
            var s = start + (k + 0.5) * extent / outSize;
            if (s < 0 || s >= sourceSize)
            {
                // Same in/out rule as the nearest taps, so image padding and mask padding line up exactly.
                taps[u] = new BilinearTap(0, 0, 0, true);
                continue;
            }
            var p = s - 0.5;
            var i0 = (int)Math.Floor(p);
            var frac = (float)(p - i0);
            taps[u] = new BilinearTap(Math.Clamp(i0, 0, sourceSize - 1), Math.Clamp(i0 + 1, 0, sourceSize - 1), frac, false);
        }
        return taps;
    }

    private readonly record struct BilinearTap(int I0, int I1, float Frac, bool Outside);
}
