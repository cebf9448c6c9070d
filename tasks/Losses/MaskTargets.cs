using GppfActors.Tasks.Formats;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: G instances of one image, r the logit stride, Hp x Wp = the mask grid x its stride.

/// <summary>Instance masks brought to the resolution of the mask logits.</summary>
public static class MaskTargets
{
    /// <summary>
    /// <paramref name="masks"/> (cropped, in input pixels) on a zero plane of <paramref name="paddedHeight"/> x
    /// <paramref name="paddedWidth"/>, the mask grid's extent in input pixels (pixels past it are dropped), averaged over
    /// <paramref name="stride"/> x <paramref name="stride"/> blocks: the share of each logit pixel's input pixels that lie
    /// inside, [G, Hp / r, Wp / r] float32 on the CPU (the caller moves it to the predictions' device).
    /// </summary>
    /// <remarks>
    /// The values of zero-padding (or cropping) whole masks to Hp x Wp and <c>avg_pool2d</c> with kernel and stride r:
    /// blocks are whole (Hp / r and Wp / r rounded down), a block's value is its count of inside pixels divided by
    /// r * r in float32 as PyTorch's CPU and CUDA kernels divide their float sums. Only each mask's window is read.
    /// </remarks>
    public static Tensor Expand(IReadOnlyList<CroppedMask> masks, int paddedHeight, int paddedWidth, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        int rows = paddedHeight / stride, columns = paddedWidth / stride, plane = rows * columns;
        var values = new float[masks.Count * plane];
        var counts = new int[plane];
        float area = stride * stride;
        for (int g = 0; g < masks.Count; g++)
        {
            var m = masks[g];
            int x1 = m.X, y1 = m.Y;
            int x2 = Math.Min(m.X + m.Width, columns * stride), y2 = Math.Min(m.Y + m.Height, rows * stride);
            if (x2 <= x1 || y2 <= y1)
            {
                continue;
            }
            int bx1 = x1 / stride, by1 = y1 / stride, bx2 = (x2 - 1) / stride, by2 = (y2 - 1) / stride;
            var pixels = m.Pixels;
            for (int y = y1; y < y2; y++)
            {
                var row = (y - m.Y) * m.Width - m.X;
                var block = y / stride * columns;
                for (int x = x1; x < x2; x++)
                {
                    counts[block + x / stride] += pixels[row + x];
                }
            }
            for (int by = by1; by <= by2; by++)
            {
                for (int bx = bx1; bx <= bx2; bx++)
                {
                    values[g * plane + by * columns + bx] = counts[by * columns + bx] / area;
                    counts[by * columns + bx] = 0;
                }
            }
        }
        return tensor(values, [masks.Count, rows, columns]);                               // [G, Hp/r, Wp/r]
    }
}
