namespace GppfActors.Tasks.Metrics;

/// <summary>
/// Semantic segmentation confusion matrix (rows: ground truth, columns: prediction) accumulated over
/// batches, and the scores read from it: IoU per class = TP / (TP + FP + FN), mIoU over the classes
/// present in ground truth or prediction (a class absent from both has no IoU and is left out, as
/// mmseg does), and pixel accuracy. Pixels labelled 255 are ignored.
/// </summary>
public sealed class ConfusionMatrix
{
    /// <summary>The ignore label.</summary>
    public const long IgnoreIndex = 255;

    private readonly long[] counts;

    /// <summary>An empty matrix over <paramref name="numClasses"/> classes.</summary>
    public ConfusionMatrix(int numClasses)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        NumClasses = numClasses;
        counts = new long[numClasses * numClasses];
    }

    /// <summary>Classes K.</summary>
    public int NumClasses { get; }

    /// <summary>Pixels counted for ground truth <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => counts[truth * NumClasses + predicted];

    /// <summary>A matrix holding the given counts [truth, predicted].</summary>
    public static ConfusionMatrix FromCounts(long[,] counts)
    {
        int k = counts.GetLength(0);
        if (counts.GetLength(1) != k)
        {
            throw new ArgumentException($"a confusion matrix is square, got {k} x {counts.GetLength(1)}", nameof(counts));
        }
        var m = new ConfusionMatrix(k);
        for (int t = 0; t < k; t++)
        {
            for (int p = 0; p < k; p++)
            {
                m.counts[t * k + p] = counts[t, p];
            }
        }
        return m;
    }

    /// <summary>Adds pixels: ground truth and prediction labels, position by position; ground truth 255 is skipped.</summary>
    public void Update(ReadOnlySpan<long> truth, ReadOnlySpan<long> predicted)
    {
        if (truth.Length != predicted.Length)
        {
            throw new ArgumentException($"{truth.Length} ground-truth pixels but {predicted.Length} predicted");
        }
        for (int i = 0; i < truth.Length; i++)
        {
            if (truth[i] == IgnoreIndex)
            {
                continue;
            }
            counts[Index(truth[i], "ground truth") * NumClasses + Index(predicted[i], "prediction")]++;
        }
    }

    /// <summary>Adds a flattened K x K block of counts (e.g. a bincount of truth * K + prediction computed on the device).</summary>
    public void AddCounts(ReadOnlySpan<long> flat)
    {
        if (flat.Length != counts.Length)
        {
            throw new ArgumentException($"expected {counts.Length} counts, got {flat.Length}");
        }
        for (int i = 0; i < flat.Length; i++)
        {
            counts[i] += flat[i];
        }
    }

    /// <summary>IoU per class; NaN for a class absent from both ground truth and prediction.</summary>
    public double[] IoUs()
    {
        var result = new double[NumClasses];
        for (int c = 0; c < NumClasses; c++)
        {
            long tp = this[c, c], row = 0, column = 0;
            for (int k = 0; k < NumClasses; k++)
            {
                row += this[c, k];
                column += this[k, c];
            }
            long union = row + column - tp;
            result[c] = union == 0 ? double.NaN : (double)tp / union;
        }
        return result;
    }

    /// <summary>Mean IoU over classes with an IoU; NaN when no pixel was counted.</summary>
    public double MeanIoU()
    {
        var present = IoUs().Where(v => !double.IsNaN(v)).ToArray();
        return present.Length == 0 ? double.NaN : present.Average();
    }

    /// <summary>Correct pixels over counted pixels; NaN when none was counted.</summary>
    public double PixelAccuracy()
    {
        long total = counts.Sum(), correct = 0;
        for (int c = 0; c < NumClasses; c++)
        {
            correct += this[c, c];
        }
        return total == 0 ? double.NaN : (double)correct / total;
    }

    /// <summary>mIoU and pixel accuracy by name.</summary>
    public IReadOnlyDictionary<string, double> Report() =>
        new Dictionary<string, double> { ["mIoU"] = MeanIoU(), ["pixel_accuracy"] = PixelAccuracy() };

    private int Index(long label, string what) =>
        label >= 0 && label < NumClasses ? (int)label : throw new ArgumentOutOfRangeException(nameof(label), $"{what} label {label} is outside [0, {NumClasses}) and is not {IgnoreIndex}");
}
