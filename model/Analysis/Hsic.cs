namespace GppfActors.Model.Analysis;

/// <summary>
/// The Hilbert-Schmidt independence criterion of two Gram matrices K and L (n x n, symmetric) of
/// the same n examples, the building block of CKA (paper, appendix A).
/// </summary>
public static class Hsic
{
    /// <summary>HSIC of <paramref name="k"/> and <paramref name="l"/> with <paramref name="estimator"/>.</summary>
    public static double Of(double[,] k, double[,] l, HsicEstimator estimator) => estimator switch
    {
        HsicEstimator.Unbiased => Unbiased(k, l),
        _ => Biased(k, l),
    };

    /// <summary>
    /// HSIC_1 = [tr(K~ L~) + (1'K~1)(1'L~1) / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n(n-3)), where K~ and L~
    /// are K and L with their diagonals set to zero. Uses symmetry, so it costs O(n^2).
    /// </summary>
    public static double Unbiased(double[,] k, double[,] l)
    {
        int n = Size(k, l);
        if (n < 4)
        {
            throw new ArgumentException($"the unbiased HSIC needs at least 4 examples per batch, got {n}");
        }
        double trace = 0, sumK = 0, sumL = 0, rowProducts = 0;
        for (int i = 0; i < n; i++)
        {
            double rowK = 0, rowL = 0;
            for (int j = 0; j < n; j++)
            {
                if (i == j)
                {
                    continue;
                }
                trace += k[i, j] * l[j, i];
                rowK += k[i, j];
                rowL += l[i, j];
            }
            sumK += rowK;
            sumL += rowL;
            rowProducts += rowK * rowL;                    // (K~1)_i (L~1)_i, summed: 1'K~L~1 for symmetric K~
        }
        return (trace + sumK * sumL / ((n - 1.0) * (n - 2.0)) - 2.0 / (n - 2.0) * rowProducts) / (n * (n - 3.0));
    }

    /// <summary>tr(KHLH) / (n-1)^2 with H = I - 11'/n: the sum of the doubly centred K times L.</summary>
    public static double Biased(double[,] k, double[,] l)
    {
        int n = Size(k, l);
        if (n < 2)
        {
            throw new ArgumentException($"HSIC needs at least 2 examples, got {n}");
        }
        var rowMeans = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                rowMeans[i] += k[i, j] / n;
            }
            mean += rowMeans[i] / n;
        }
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                // (HKH)_ij = K_ij - mean of row i - mean of column j + grand mean (K symmetric).
                sum += (k[i, j] - rowMeans[i] - rowMeans[j] + mean) * l[j, i];
            }
        }
        return sum / ((n - 1.0) * (n - 1.0));
    }

    private static int Size(double[,] k, double[,] l)
    {
        int n = k.GetLength(0);
        if (k.GetLength(1) != n || l.GetLength(0) != n || l.GetLength(1) != n)
        {
            throw new ArgumentException($"Gram matrices must be square and of the same size, got {k.GetLength(0)}x{k.GetLength(1)} and {l.GetLength(0)}x{l.GetLength(1)}");
        }
        return n;
    }
}
