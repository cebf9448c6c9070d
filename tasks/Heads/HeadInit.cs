using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

/// <summary>Head weight initialisers drawing only from an explicit generator (the global one races between device threads).</summary>
public static class HeadInit
{
    /// <summary>Weight ~ N(0, std^2) and bias = <paramref name="biasValue"/> (FCOS's prediction layers: std 0.01).</summary>
    public static void Normal(Tensor weight, Tensor? bias, double std, Generator generator, double biasValue = 0)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        weight.copy_(randn(weight.shape, generator: generator) * std);
        bias?.fill_(biasValue);
    }

    /// <summary>Weight ~ N(0, 1 / fan_in) and zero bias: unit-variance outputs for layers without a following norm (FPN convs).</summary>
    public static void FanIn(Tensor weight, Tensor? bias, Generator generator)
    {
        long fanIn = weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        Normal(weight, bias, Math.Sqrt(1.0 / fanIn), generator);
    }
}
