using GppfActors.Tasks.Data;
using GppfActors.Tasks.Formats;

namespace GppfActors.Bench.Loader;

/// <summary>
/// The pipeline's instance-mask warp before masks were kept cropped (CropWarp.Instances at commit b16cc3a), kept
/// here as the benchmark's baseline: each kept instance's whole-image mask resampled onto the whole output,
/// with the pipeline's own nearest-neighbour taps.
/// </summary>
internal static class FullMaskBaseline
{
    /// <summary>The mask through <paramref name="window"/> by nearest neighbour, [outH * outW], 1 inside, 0 outside and in padding.</summary>
    public static byte[] Warp(BinaryMask mask, CropWindow window, int outWidth, int outHeight)
    {
        var xs = CropWarp.NearestTaps(window.X, window.Width, mask.Width, outWidth, window.Flip);
        var ys = CropWarp.NearestTaps(window.Y, window.Height, mask.Height, outHeight, flip: false);
        var pixels = mask.Pixels;
        var output = new byte[outWidth * outHeight];
        for (var v = 0; v < outHeight; v++)
        {
            for (var u = 0; u < outWidth; u++)
            {
                if (ys[v] >= 0 && xs[u] >= 0 && pixels[ys[v] * mask.Width + xs[u]])
                {
                    output[v * outWidth + u] = 1;
                }
            }
        }
        return output;
    }
}
