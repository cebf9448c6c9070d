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
}
