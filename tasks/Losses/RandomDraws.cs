using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

/// <summary>
/// Scalar random draws (uniform, normal, gamma, beta, integers) taken from an explicit torch
/// generator, so batch augmentation is reproducible from (seed, step, rank) and never touches
/// libtorch's process-global generator, which device threads would race on.
/// </summary>
public static class RandomDraws
{
    /// <summary>U[0, 1).</summary>
    public static double Uniform(Generator generator)
    {
        using var u = rand([1], dtype: float64, generator: generator);
        return u.item<double>();
    }

    /// <summary>N(0, 1).</summary>
    public static double Normal(Generator generator)
    {
        using var z = randn([1], dtype: float64, generator: generator);
        return z.item<double>();
    }

    /// <summary>An integer in [low, high).</summary>
    public static int Integer(Generator generator, int low, int high)
    {
        if (high <= low)
        {
            throw new ArgumentOutOfRangeException(nameof(high), $"empty range [{low}, {high})");
        }
        using var i = randint(low, high, [1], dtype: int64, generator: generator);
        return (int)i.item<long>();
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang's method (shape &lt; 1 boosted by U^(1/shape)).</summary>
    public static double Gamma(Generator generator, double shape)
    {
        if (!(shape > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(shape), $"gamma shape must be > 0, got {shape}");
        }
        if (shape < 1)
        {
            // 1 - U lies in (0, 1], so the power is finite.
            return Gamma(generator, shape + 1) * Math.Pow(1 - Uniform(generator), 1 / shape);
        }
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x = Normal(generator);
            double v = 1 + c * x;
            if (v <= 0)
            {
                continue;
            }
            v = v * v * v;
            double u = 1 - Uniform(generator);
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v))
            {
                return d * v;
            }
        }
    }

    /// <summary>Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).</summary>
    public static double Beta(Generator generator, double a, double b)
    {
        double x = Gamma(generator, a), y = Gamma(generator, b);
        return x / (x + y);
    }
}
