namespace GppfActors.Model.Analysis;

/// <summary>
/// Linear CKA between every pair of a set of row features and a set of column features (layers of
/// one model, or of two models), accumulated over minibatches as Nguyen et al. (2021) do and the
/// paper adopts (appendix A): CKA = mean HSIC(K, L) / sqrt(mean HSIC(K, K) * mean HSIC(L, L)), the
/// means over batches, so the probe set never has to fit in memory at once.
/// </summary>
public sealed class MinibatchCka
{
    private readonly HsicEstimator estimator;
    private readonly double[,] cross;
    private readonly double[] rowSelf;
    private readonly double[] columnSelf;

    /// <summary>An empty accumulator for <paramref name="numRows"/> x <paramref name="numColumns"/> feature pairs.</summary>
    public MinibatchCka(int numRows, int numColumns, HsicEstimator estimator = HsicEstimator.Unbiased)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numColumns, 1);
        this.estimator = estimator;
        cross = new double[numRows, numColumns];
        rowSelf = new double[numRows];
        columnSelf = new double[numColumns];
    }

    /// <summary>Batches added so far.</summary>
    public int NumBatches { get; private set; }

    /// <summary>
    /// Adds one minibatch: the Gram matrix of each row feature and of each column feature, all over
    /// the same examples (see <see cref="FeatureGram"/>).
    /// </summary>
    public void Add(IReadOnlyList<double[,]> rowGrams, IReadOnlyList<double[,]> columnGrams)
    {
        if (rowGrams.Count != rowSelf.Length || columnGrams.Count != columnSelf.Length)
        {
            throw new ArgumentException($"expected {rowSelf.Length} row and {columnSelf.Length} column Gram matrices, got {rowGrams.Count} and {columnGrams.Count}");
        }
        for (int i = 0; i < rowSelf.Length; i++)
        {
            rowSelf[i] += Hsic.Of(rowGrams[i], rowGrams[i], estimator);
            for (int j = 0; j < columnSelf.Length; j++)
            {
                cross[i, j] += Hsic.Of(rowGrams[i], columnGrams[j], estimator);
            }
        }
        for (int j = 0; j < columnSelf.Length; j++)
        {
            columnSelf[j] += Hsic.Of(columnGrams[j], columnGrams[j], estimator);
        }
        NumBatches++;
    }

    /// <summary>
    /// CKA of every pair, [rows, columns]. The common factor 1/batches cancels. A feature whose
    /// self-HSIC is not positive (constant features) gives NaN: it has no similarity to speak of.
    /// </summary>
    public double[,] Result()
    {
        if (NumBatches == 0)
        {
            throw new InvalidOperationException("no batch was added");
        }
        var result = new double[rowSelf.Length, columnSelf.Length];
        for (int i = 0; i < rowSelf.Length; i++)
        {
            for (int j = 0; j < columnSelf.Length; j++)
            {
                double norm = rowSelf[i] * columnSelf[j];
                result[i, j] = norm > 0 ? cross[i, j] / Math.Sqrt(norm) : double.NaN;
            }
        }
        return result;
    }
}
