using static TorchSharp.torch;

namespace GppfActors.Model.Analysis;

/// <summary>Gram matrices of a batch of features, the input of <see cref="MinibatchCka"/>.</summary>
public static class FeatureGram
{
    /// <summary>
    /// The linear-kernel Gram matrix X X' of <paramref name="features"/> [B, ...], each example
    /// flattened to one row (any layout: CKA is invariant to permuting feature dimensions), in float64.
    /// </summary>
    public static double[,] Linear(Tensor features)
    {
        using var scope = NewDisposeScope();
        long n = features.shape[0];
        var x = features.detach().reshape(n, -1).to_type(float64).cpu();      // [B, P]
        var gram = x.matmul(x.t()).contiguous();                                // [B, B]
        var values = gram.data<double>().ToArray();
        var result = new double[n, n];
        Buffer.BlockCopy(values, 0, result, 0, values.Length * sizeof(double));
        return result;
    }
}
