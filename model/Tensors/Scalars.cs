using TorchSharp;

namespace GppfActors.Model.Tensors;

/// <summary>
/// Scalars that live for the whole process. TorchSharp 0.107's <c>a + b</c> passes an implicitly
/// created <c>Scalar(1)</c> to the native add and does not keep it alive during the call, so a
/// collection at the wrong moment lets its finaliser free it while libtorch still reads it (seen as
/// "Expected false to be true ... toFloat" under heavy load). The residual and weighted-sum adds
/// of every step pass these instead.
/// </summary>
public static class Scalars
{
    /// <summary>1, the alpha of a plain add.</summary>
    public static readonly Scalar One = 1;
}
