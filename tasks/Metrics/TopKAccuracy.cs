namespace GppfActors.Tasks.Metrics;

/// <summary>Top-k classification accuracy accumulated over batches: a sample counts for k when its true class is among the k highest scores.</summary>
public sealed class TopKAccuracy
{
    private readonly int[] ks;
    private readonly long[] correct;
    private long count;

    /// <summary>Tracks each k of <paramref name="ks"/> (default top-1 and top-5).</summary>
    public TopKAccuracy(params int[] ks)
    {
        this.ks = ks.Length == 0 ? [1, 5] : ks;
        if (this.ks.Any(k => k < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(ks), "every k must be >= 1");
        }
        correct = new long[this.ks.Length];
    }

    /// <summary>Samples seen.</summary>
    public long Count => count;

    /// <summary>
    /// Adds a batch: <paramref name="scores"/> row-major [B, K], <paramref name="labels"/> [B]. The
    /// rank of the true class is the number of classes scoring strictly higher plus those scoring
    /// equal at a lower index (a stable descending sort), so ties never count as correct twice.
    /// </summary>
    public void Update(ReadOnlySpan<float> scores, int numClasses, ReadOnlySpan<long> labels)
    {
        if (scores.Length != labels.Length * numClasses)
        {
            throw new ArgumentException($"scores hold {scores.Length} values, expected {labels.Length} x {numClasses}");
        }
        for (int b = 0; b < labels.Length; b++)
        {
            var row = scores.Slice(b * numClasses, numClasses);
            long label = labels[b];
            if (label < 0 || label >= numClasses)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), $"label {label} of sample {b} is outside [0, {numClasses})");
            }
            float target = row[(int)label];
            int rank = 0;
            for (int k = 0; k < numClasses; k++)
            {
                if (row[k] > target || (row[k] == target && k < label))
                {
                    rank++;
                }
            }
            for (int i = 0; i < ks.Length; i++)
            {
                if (rank < ks[i])
                {
                    correct[i]++;
                }
            }
            count++;
        }
    }

    /// <summary>top{k} = fraction of samples whose true class ranked within k; NaN before any sample.</summary>
    public IReadOnlyDictionary<string, double> Report() =>
        ks.Select((k, i) => (k, i)).ToDictionary(p => $"top{p.k}", p => count == 0 ? double.NaN : (double)correct[p.i] / count);
}
