using GppfActors.Model.Network;
using static TorchSharp.torch;

namespace GppfActors.Model.Analysis;

/// <summary>The features a network computes along a task's path, as one Gram matrix per lego layer: one minibatch of a CKA probe.</summary>
public static class PathFeatureGrams
{
    /// <summary>
    /// Runs <paramref name="images"/> [B, 3, H, W] through the backbone along <paramref name="task"/>'s
    /// arg-max path (evaluation mode, running BN statistics, no gradients) and returns the linear Gram
    /// matrix of every lego layer's output, [L] of [B, B]. The network is left in evaluation mode.
    /// </summary>
    public static IReadOnlyList<double[,]> Of(GppfNetwork network, string task, Tensor images)
    {
        ArgumentNullException.ThrowIfNull(network);
        var grams = new double[network.Backbone.NumLayers][,];
        network.eval();
        network.Sync.Group = null;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        network.Backbone.LayerOutputObserver = (layer, output) => grams[layer] = FeatureGram.Linear(output);
        try
        {
            network.Features(task, images, RouteRequest.Eval);
        }
        finally
        {
            network.Backbone.LayerOutputObserver = null;
        }
        return grams;
    }
}
