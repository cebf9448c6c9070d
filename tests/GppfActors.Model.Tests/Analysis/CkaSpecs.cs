using GppfActors.Model.Analysis;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Analysis;

/// <summary>
/// Linear CKA and its HSIC estimators against direct computations written here with plain loops
/// (the feature-space formula of Kornblith et al. 2019, HSIC_1 of Song et al. 2012 from its
/// definition), and CKA's known invariances.
/// </summary>
public class CkaSpecs
{
    [Fact]
    public void Should_equal_the_feature_space_formula_when_the_biased_estimator_sees_one_batch()
    {
        var random = new Random(3);
        var x = Matrix(random, 9, 5);
        var y = Matrix(random, 9, 3);
        var cka = new MinibatchCka(1, 1, HsicEstimator.Biased);
        cka.Add([Gram(x)], [Gram(y)]);

        // ||Y'X||_F^2 / (||X'X||_F ||Y'Y||_F) on column-centred features.
        var xc = Centred(x);
        var yc = Centred(y);
        double expected = Square(FrobeniusOfProduct(yc, xc)) / (FrobeniusOfProduct(xc, xc) * FrobeniusOfProduct(yc, yc));
        Assert.Equal(expected, cka.Result()[0, 0], 12);
        Assert.InRange(expected, 0.05, 0.95);               // a value that tells a wrong formula apart
    }

    [Fact]
    public void Should_equal_the_definition_of_hsic1_when_estimating_without_bias()
    {
        var random = new Random(5);
        var k = Gram(Matrix(random, 7, 4));
        var l = Gram(Matrix(random, 7, 6));
        Assert.Equal(UnbiasedHsicByDefinition(k, l), Hsic.Unbiased(k, l), 10);
        Assert.Equal(UnbiasedHsicByDefinition(k, k), Hsic.Unbiased(k, k), 10);
        Assert.Throws<ArgumentException>(() => Hsic.Unbiased(Gram(Matrix(random, 3, 2)), Gram(Matrix(random, 3, 2))));
    }

    [Fact]
    public void Should_combine_the_mean_hsic_over_batches_when_several_batches_are_added()
    {
        var random = new Random(11);
        const int rows = 2, columns = 3, batches = 4, n = 6;
        var cka = new MinibatchCka(rows, columns);
        var cross = new double[rows, columns];
        var rowSelf = new double[rows];
        var columnSelf = new double[columns];
        for (int b = 0; b < batches; b++)
        {
            var rowGrams = Enumerable.Range(0, rows).Select(i => Gram(Matrix(random, n, 3 + i))).ToArray();
            var columnGrams = Enumerable.Range(0, columns).Select(j => Gram(Matrix(random, n, 2 + j))).ToArray();
            cka.Add(rowGrams, columnGrams);
            for (int i = 0; i < rows; i++)
            {
                rowSelf[i] += UnbiasedHsicByDefinition(rowGrams[i], rowGrams[i]);
                for (int j = 0; j < columns; j++)
                {
                    cross[i, j] += UnbiasedHsicByDefinition(rowGrams[i], columnGrams[j]);
                }
            }
            for (int j = 0; j < columns; j++)
            {
                columnSelf[j] += UnbiasedHsicByDefinition(columnGrams[j], columnGrams[j]);
            }
        }
        var result = cka.Result();
        Assert.Equal(batches, cka.NumBatches);
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                Assert.Equal(cross[i, j] / Math.Sqrt(rowSelf[i] * columnSelf[j]), result[i, j], 10);
            }
        }
    }

    [Fact]
    public void Should_compute_the_linear_gram_matrix_of_flattened_examples()
    {
        var x = Matrix(new Random(2), 4, 12);
        using var features = tensor(Flatten(x), [4, 3, 2, 2]);             // [B, C, H, W], 12 values per example
        var gram = FeatureGram.Linear(features);
        var expected = Gram(x);
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                Assert.Equal(expected[i, j], gram[i, j], 9);
            }
        }
    }

    [Theory]
    [InlineData(HsicEstimator.Unbiased)]
    [InlineData(HsicEstimator.Biased)]
    public void Should_be_one_on_identical_features_and_invariant_to_rotation_and_isotropic_scaling(HsicEstimator estimator)
    {
        var random = new Random(17);
        var x = Matrix(random, 24, 6);
        var y = Matrix(random, 24, 4);
        for (int i = 0; i < 24; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                y[i, j] += 2 * x[i, j];                      // shared structure, so CKA is far from 0 and 1
            }
        }
        var q = Orthogonal(random, 6);
        var a = new double[6, 6];                            // invertible, not a multiple of a rotation
        for (int i = 0; i < 6; i++)
        {
            a[i, i] = i == 0 ? 0.05 : 1 + i;
            a[i, (i + 1) % 6] = 0.5;
        }

        double reference = Cka(x, y, estimator);
        Assert.Equal(1.0, Cka(x, x, estimator), 10);
        Assert.Equal(reference, Cka(Product(x, q), y, estimator), 9);
        Assert.Equal(reference, Cka(Scaled(x, 37.5), y, estimator), 9);
        Assert.InRange(reference, 0.1, 0.9);
        Assert.True(Math.Abs(Cka(Product(x, a), y, estimator) - reference) > 0.05,
            $"a general invertible map changed CKA only from {reference} to {Cka(Product(x, a), y, estimator)}");
    }

    // CKA of two feature matrices through the code under test: FeatureGram on tensors, minibatches of 8.
    private static double Cka(double[,] x, double[,] y, HsicEstimator estimator)
    {
        int n = x.GetLength(0), batch = estimator == HsicEstimator.Biased ? n : 8;
        var cka = new MinibatchCka(1, 1, estimator);
        for (int start = 0; start < n; start += batch)
        {
            using var xb = tensor(Flatten(Rows(x, start, batch)), [batch, x.GetLength(1)]);
            using var yb = tensor(Flatten(Rows(y, start, batch)), [batch, y.GetLength(1)]);
            cka.Add([FeatureGram.Linear(xb)], [FeatureGram.Linear(yb)]);
        }
        return cka.Result()[0, 0];
    }

    // HSIC_1 written as its formula: K~ and L~ with zero diagonals, the full product K~L~.
    private static double UnbiasedHsicByDefinition(double[,] k, double[,] l)
    {
        int n = k.GetLength(0);
        var kt = (double[,])k.Clone();
        var lt = (double[,])l.Clone();
        for (int i = 0; i < n; i++)
        {
            kt[i, i] = 0;
            lt[i, i] = 0;
        }
        var product = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                for (int m = 0; m < n; m++)
                {
                    product[i, j] += kt[i, m] * lt[m, j];
                }
            }
        }
        double trace = 0, sumK = 0, sumL = 0, sumProduct = 0;
        for (int i = 0; i < n; i++)
        {
            trace += product[i, i];
            for (int j = 0; j < n; j++)
            {
                sumK += kt[i, j];
                sumL += lt[i, j];
                sumProduct += product[i, j];
            }
        }
        return (trace + sumK * sumL / ((n - 1.0) * (n - 2.0)) - 2.0 / (n - 2.0) * sumProduct) / (n * (n - 3.0));
    }

    private static double[,] Matrix(Random random, int rows, int columns)
    {
        var m = new double[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                m[i, j] = random.NextDouble() * 2 - 1;
            }
        }
        return m;
    }

    private static double[,] Gram(double[,] x) => Product(x, Transpose(x));

    private static double[,] Product(double[,] a, double[,] b)
    {
        var c = new double[a.GetLength(0), b.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++)
        {
            for (int j = 0; j < b.GetLength(1); j++)
            {
                for (int m = 0; m < a.GetLength(1); m++)
                {
                    c[i, j] += a[i, m] * b[m, j];
                }
            }
        }
        return c;
    }

    private static double[,] Transpose(double[,] a)
    {
        var t = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
        {
            for (int j = 0; j < a.GetLength(1); j++)
            {
                t[j, i] = a[i, j];
            }
        }
        return t;
    }

    private static double[,] Centred(double[,] x)
    {
        int n = x.GetLength(0), p = x.GetLength(1);
        var c = (double[,])x.Clone();
        for (int j = 0; j < p; j++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++)
            {
                mean += x[i, j] / n;
            }
            for (int i = 0; i < n; i++)
            {
                c[i, j] -= mean;
            }
        }
        return c;
    }

    // ||A'B||_F for A [n, p], B [n, q].
    private static double FrobeniusOfProduct(double[,] a, double[,] b)
    {
        var product = Product(Transpose(a), b);
        double sum = 0;
        foreach (var v in product)
        {
            sum += v * v;
        }
        return Math.Sqrt(sum);
    }

    private static double Square(double v) => v * v;

    // A random orthogonal matrix: Gram-Schmidt on random columns.
    private static double[,] Orthogonal(Random random, int size)
    {
        var q = Matrix(random, size, size);
        for (int j = 0; j < size; j++)
        {
            for (int prev = 0; prev < j; prev++)
            {
                double dot = 0;
                for (int i = 0; i < size; i++)
                {
                    dot += q[i, j] * q[i, prev];
                }
                for (int i = 0; i < size; i++)
                {
                    q[i, j] -= dot * q[i, prev];
                }
            }
            double norm = 0;
            for (int i = 0; i < size; i++)
            {
                norm += q[i, j] * q[i, j];
            }
            for (int i = 0; i < size; i++)
            {
                q[i, j] /= Math.Sqrt(norm);
            }
        }
        return q;
    }

    private static double[,] Scaled(double[,] x, double factor)
    {
        var s = (double[,])x.Clone();
        for (int i = 0; i < s.GetLength(0); i++)
        {
            for (int j = 0; j < s.GetLength(1); j++)
            {
                s[i, j] *= factor;
            }
        }
        return s;
    }

    private static double[,] Rows(double[,] x, int start, int count)
    {
        var r = new double[count, x.GetLength(1)];
        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < x.GetLength(1); j++)
            {
                r[i, j] = x[start + i, j];
            }
        }
        return r;
    }

    private static double[] Flatten(double[,] x) => x.Cast<double>().ToArray();
}
