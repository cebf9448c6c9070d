namespace GppfActors.Model.Precision;

/// <summary>
/// The number format of a network's convolutions, linear layers and attention products (the job's
/// <c>train.precision</c>). Weights, gradients, optimizer state, normalisation statistics, losses
/// and the collectives stay fp32 in both.
/// </summary>
public enum ComputePrecision
{
    /// <summary>Everything in fp32 (the default; bit-identical to a network without the setting).</summary>
    Fp32,

    /// <summary>
    /// bf16 mixed precision: each convolution, linear layer and attention matrix product casts its
    /// input and a copy of its weight to bfloat16, multiplies there (fp32 accumulation inside the
    /// kernel), and hands fp32 back. bf16 keeps fp32's exponent range, so there is no loss scaling.
    /// </summary>
    Bf16,
}
