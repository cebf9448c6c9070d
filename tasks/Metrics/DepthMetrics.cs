namespace GppfActors.Tasks.Metrics;

/// <summary>
/// The KITTI depth metrics (Eigen et al. 2014, as BTS reports them) accumulated over images: over
/// the valid pixels of each image (gt in (min depth, max depth), BTS's evaluation range; 0 = no measurement), d_k = share with max(d / gt, gt / d) &lt; 1.25^k,
/// AbsRel = mean |d - gt| / gt, SqRel = mean (d - gt)^2 / gt, RMSE = sqrt(mean (d - gt)^2),
/// RMSElog = sqrt(mean (ln d - ln gt)^2); the report averages each over images (BTS's protocol),
/// skipping images without a valid pixel. Predictions must be positive (clamp them first).
/// </summary>
/// <param name="minDepth">Ground truth at or below this is not evaluated (0: every measurement).</param>
/// <param name="maxDepth">Ground truth at or above this is not evaluated: a prediction clamped to the cap cannot be judged against it.</param>
public sealed class DepthMetrics(double minDepth = 0, double maxDepth = double.PositiveInfinity)
{
    /// <summary>Report keys in the order of the paper's Table 4.</summary>
    public static readonly IReadOnlyList<string> Names = ["d1", "d2", "d3", "AbsRel", "SqRel", "RMSE", "RMSElog"];

    private readonly double[] sums = new double[Names.Count];
    private int numImages;

    /// <summary>Images with at least one valid pixel.</summary>
    public int NumImages => numImages;

    /// <summary>Adds one image: predicted and ground-truth depth in metres, pixel by pixel.</summary>
    public void AddImage(ReadOnlySpan<float> predicted, ReadOnlySpan<float> groundTruth)
    {
        if (predicted.Length != groundTruth.Length)
        {
            throw new ArgumentException($"{predicted.Length} predicted pixels but {groundTruth.Length} ground-truth");
        }
        double d1 = 0, d2 = 0, d3 = 0, absRel = 0, sqRel = 0, sq = 0, sqLog = 0;
        int n = 0;
        for (int i = 0; i < predicted.Length; i++)
        {
            double g = groundTruth[i];
            if (!(g > minDepth && g < maxDepth))
            {
                continue;
            }
            double d = predicted[i];
            if (!(d > 0))
            {
                throw new ArgumentOutOfRangeException(nameof(predicted), $"predicted depth {d} at pixel {i} is not positive");
            }
            double ratio = Math.Max(d / g, g / d);
            d1 += ratio < 1.25 ? 1 : 0;
            d2 += ratio < 1.25 * 1.25 ? 1 : 0;
            d3 += ratio < 1.25 * 1.25 * 1.25 ? 1 : 0;
            absRel += Math.Abs(d - g) / g;
            sqRel += (d - g) * (d - g) / g;
            sq += (d - g) * (d - g);
            double log = Math.Log(d) - Math.Log(g);
            sqLog += log * log;
            n++;
        }
        if (n == 0)
        {
            return;
        }
        double[] image = [d1 / n, d2 / n, d3 / n, absRel / n, sqRel / n, Math.Sqrt(sq / n), Math.Sqrt(sqLog / n)];
        for (int k = 0; k < sums.Length; k++)
        {
            sums[k] += image[k];
        }
        numImages++;
    }

    /// <summary>Each metric's mean over images; NaN before any image with a valid pixel.</summary>
    public IReadOnlyDictionary<string, double> Report() =>
        Names.Select((name, k) => (name, k)).ToDictionary(p => p.name, p => numImages == 0 ? double.NaN : sums[p.k] / numImages);
}
