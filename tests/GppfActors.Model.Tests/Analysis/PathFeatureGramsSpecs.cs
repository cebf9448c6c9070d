using GppfActors.Model.Analysis;
using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Analysis;

/// <summary>The Gram matrices of a CKA probe: one per lego layer, of the features the task's path computes.</summary>
public class PathFeatureGramsSpecs
{
    [Fact]
    public void Should_give_one_gram_per_layer_the_last_of_the_final_stage_output_when_probing_a_resnet()
    {
        using var network = new GppfNetwork(BackboneConfig.Tiny(2), [Nets.Classifier("a", 3)], seed: 4);
        using var scope = NewDisposeScope();
        using var images = randn(5, 3, 16, 16, generator: new Generator(9));
        var grams = PathFeatureGrams.Of(network, "a", images);
        Assert.Equal(network.Backbone.NumLayers, grams.Count);
        Assert.Null(network.Backbone.LayerOutputObserver);

        // The last lego layer's output is the last stage's output: its Gram matrix, by plain loops.
        using var _ = no_grad();
        var last = network.Features("a", images, RouteRequest.Eval)[^1].reshape(5, -1).to_type(float64).data<double>().ToArray();
        int p = last.Length / 5;
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                double dot = 0;
                for (int m = 0; m < p; m++)
                {
                    dot += last[i * p + m] * last[j * p + m];
                }
                Assert.Equal(dot, grams[^1][i, j], Math.Max(1e-9, Math.Abs(dot) * 1e-6));
            }
        }
    }

    [Fact]
    public void Should_give_one_gram_per_layer_when_probing_a_swin()
    {
        using var network = new GppfNetwork(BackboneConfig.SwinSmall(2), [Nets.Classifier("a", 3)], seed: 4);
        using var scope = NewDisposeScope();
        using var images = randn(4, 3, 16, 16, generator: new Generator(9));
        var grams = PathFeatureGrams.Of(network, "a", images);
        Assert.Equal(network.Backbone.NumLayers, grams.Count);
        Assert.All(grams, g => Assert.Equal(4, g.GetLength(0)));
        Assert.All(grams, g => Assert.True(g[0, 0] > 0));
    }
}
