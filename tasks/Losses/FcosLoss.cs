using GppfActors.Tasks.Definitions;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Losses;

// Shapes: B batch, N locations, K classes, P positive locations of the batch.

/// <summary>
/// FCOS loss: sigmoid focal loss over every location and class normalised by the number of
/// positives; GIoU loss on positives weighted by their centerness target (as FCOS does, so box
/// edges far from a centre count less); centerness BCE on positives, normalised by positives.
/// </summary>
public static class FcosLoss
{
    /// <summary>Loss of the packed head output [B, N, K + 5] against <paramref name="targets"/>.</summary>
    public static FcosLossTerms Compute(Tensor output, FcosTargets targets, int numClasses, DetectionOptions options)
    {
        long b = output.shape[0], n = output.shape[1];
        var flat = output.reshape(b * n, numClasses + 5);                                  // [B*N, K+5]
        var logits = flat[.., ..numClasses];                                               // [B*N, K]
        var distances = flat[.., numClasses..(numClasses + 4)];                            // [B*N, 4]
        var centernessLogits = flat[.., numClasses + 4];                                   // [B*N]
        var labels = targets.Labels.reshape(b * n);                                        // [B*N]
        var positive = labels.ne(FcosTargets.Background);                                  // [B*N]
        var numPositives = positive.sum().to_type(float32);
        var normaliser = numPositives.clamp_min(1);

        // One-hot over real classes; background rows stay all zero.
        var classTargets = nn.functional.one_hot(labels.clamp_min(0), numClasses).to_type(float32) * positive.unsqueeze(1).to_type(float32);  // [B*N, K]
        var classification = FocalLoss.SigmoidSum(logits, classTargets, options.FocalAlpha, options.FocalGamma) / normaliser;

        var index = positive.nonzero().squeeze(1);                                         // [P]
        var points = targets.Points.repeat(b, 1).index_select(0, index);                   // [P, 2]
        var predictedBoxes = GiouLoss.BoxesFromDistances(points, distances.index_select(0, index));  // [P, 4]
        var targetBoxes = GiouLoss.BoxesFromDistances(points, targets.Distances.reshape(b * n, 4).index_select(0, index));  // [P, 4]
        var centernessTargets = targets.Centerness.reshape(b * n).index_select(0, index);  // [P]
        // With no positives every sum below is an empty sum: zero, still attached to the graph.
        var box = (GiouLoss.Loss(predictedBoxes, targetBoxes) * centernessTargets).sum() / centernessTargets.sum().clamp_min(1e-6);
        var centerness = nn.functional.binary_cross_entropy_with_logits(
            centernessLogits.index_select(0, index), centernessTargets, reduction: nn.Reduction.Sum) / normaliser;
        return new FcosLossTerms(classification + box + centerness, classification, box, centerness, numPositives);
    }
}
