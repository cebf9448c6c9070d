using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, C channels, h x w map, s stride, H x W target.

/// <summary>Resizing helpers of the dense heads and their losses and evaluators.</summary>
public static class DenseUpsample
{
    /// <summary>Bilinear upsample of [B, C, h, w] by an integer <paramref name="stride"/> to [B, C, h * s, w * s].</summary>
    public static Tensor ByStride(Tensor x, int stride) => stride == 1
        ? x
        : nn.functional.interpolate(x, size: [x.shape[2] * stride, x.shape[3] * stride], mode: InterpolationMode.Bilinear, align_corners: false);

    /// <summary>
    /// The top-left [.., H, W] of a dense output [B, C, H', W'] with H' &gt;= H, W' &gt;= W: a head's
    /// output covers ceil(H / s) * s rows, of which the first H are the image.
    /// </summary>
    public static Tensor CropTo(Tensor x, long height, long width)
    {
        if (x.shape[2] < height || x.shape[3] < width)
        {
            throw new ArgumentException($"dense output {x.shape[2]}x{x.shape[3]} is smaller than the target {height}x{width}");
        }
        return x.shape[2] == height && x.shape[3] == width ? x : x.narrow(2, 0, height).narrow(3, 0, width);  // [B, C, H, W]
    }
}
