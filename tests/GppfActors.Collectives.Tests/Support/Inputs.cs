using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests.Support;

/// <summary>Deterministic per-rank inputs for collective specs (the ring-member helper program uses the same formulas).</summary>
internal static class Inputs
{
    /// <summary>Random values of rank-dependent magnitude, so the summation order shows in the low bits.</summary>
    public static Tensor Random(int rank, long n, ScalarType dtype, int salt = 0)
    {
        using var g = new Generator((ulong)(1000 + 17 * rank + 7919 * salt));
        var values = randn(n, generator: g, dtype: float64) * Math.Pow(3, rank);
        return IsFloat(dtype) ? values.to_type(dtype) : (values * 1000).to_type(dtype);
    }

    /// <summary>Small dyadic values whose sums are exact in every dtype and every order.</summary>
    public static Tensor Exact(int rank, long n, ScalarType dtype)
    {
        var j = arange(n, dtype: float64);
        var values = (((j * 7 + rank * 13).remainder(1000)) - 500) / 16 + rank;
        return IsFloat(dtype) ? values.to_type(dtype) : (values * 16).to_type(dtype);
    }

    /// <summary>The sum over ranks computed in float64 (the independent reference), in the input dtype.</summary>
    public static Tensor Float64Sum(IEnumerable<Tensor> inputs, ScalarType dtype)
    {
        Tensor? sum = null;
        foreach (var t in inputs)
        {
            sum = sum is null ? t.to_type(float64) : sum + t.to_type(float64);
        }
        return sum!.to_type(dtype);
    }

    public static bool IsFloat(ScalarType dtype) => dtype is ScalarType.Float32 or ScalarType.Float64;
}
