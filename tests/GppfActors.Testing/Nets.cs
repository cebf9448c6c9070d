using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using static TorchSharp.torch;

namespace GppfActors.Testing;

/// <summary>Small networks for tests.</summary>
public static class Nets
{
    public static TaskHeadSpec Classifier(string name, int numClasses) =>
        new(name, (channels, g) => new ClassifierHead(channels[^1], numClasses, g));

    public static GppfNetwork Tiny(int numUnits, long seed = 1, params (string Name, int Classes)[] tasks) =>
        new(BackboneConfig.Tiny(numUnits), tasks.Select(t => Classifier(t.Name, t.Classes)).ToArray(), seed);

    /// <summary>Gives every BN non-trivial running statistics and affine parameters, deterministically.</summary>
    public static void RandomiseNorms(nn.Module module, ulong seed)
    {
        using var g = new Generator(seed);
        using var _ = no_grad();
        foreach (var (name, t) in module.named_buffers())
        {
            if (name.EndsWith("running_mean", StringComparison.Ordinal))
            {
                t.copy_(randn(t.shape, generator: g) * 0.1);
            }
            else if (name.EndsWith("running_var", StringComparison.Ordinal))
            {
                t.copy_(rand(t.shape, generator: g) + 0.5);
            }
        }
        foreach (var (name, p) in module.named_parameters())
        {
            if (p.dim() == 1)
            {
                p.copy_(randn(p.shape, generator: g) * 0.1 + (name.EndsWith("weight", StringComparison.Ordinal) ? 1 : 0));
            }
        }
    }
}
