using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>Weight initialisers that draw only from an explicit generator (libtorch's default generator is process-global and races between device threads).</summary>
public static class Init
{
    /// <summary>He-normal with fan_out and ReLU gain, as torchvision's ResNet: std = sqrt(2 / (out_channels * kh * kw)).</summary>
    public static void KaimingNormalFanOut(Tensor weight, Generator generator)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long fanOut = weight.shape[0] * weight.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        double std = Math.Sqrt(2.0 / fanOut);
        weight.copy_(randn(weight.shape, generator: generator) * std);
    }

    /// <summary>PyTorch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.</summary>
    public static void LinearDefault(Tensor weight, Tensor? bias, Generator generator)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        double bound = 1.0 / Math.Sqrt(weight.shape[1]);
        weight.copy_(rand(weight.shape, generator: generator) * (2 * bound) - bound);
        bias?.copy_(rand(bias.shape, generator: generator) * (2 * bound) - bound);
    }

    /// <summary>
    /// Normal(0, std) truncated to [-2 std, 2 std] by inverse CDF, as PyTorch's trunc_normal_ (Swin's
    /// linear weights and relative position bias tables).
    /// </summary>
    public static void TruncatedNormal(Tensor weight, double std, Generator generator)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Phi(-2) and Phi(2) of the standard normal: draw u uniformly between them and map back.
        const double Lower = 0.022750131948179195;
        const double Upper = 0.9772498680518208;
        var u = rand(weight.shape, dtype: float64, generator: generator) * (Upper - Lower) + Lower;
        var z = special.erfinv(u * 2 - 1) * Math.Sqrt(2.0);
        weight.copy_((z * std).clamp(-2 * std, 2 * std));
    }

    /// <summary>PyTorch's default Conv2d init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels * kh * kw, for weight and bias.</summary>
    public static void ConvDefault(Tensor weight, Tensor? bias, Generator generator)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long fanIn = weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        double bound = 1.0 / Math.Sqrt(fanIn);
        weight.copy_(rand(weight.shape, generator: generator) * (2 * bound) - bound);
        bias?.copy_(rand(bias.shape, generator: generator) * (2 * bound) - bound);
    }
}
