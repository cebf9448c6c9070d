using GppfActors.Tasks.Data;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

/// <summary>
/// What one training forward and loss read after the family's batch-level augmentation: the images
/// to feed (mixed for classification with mixup/cutmix) and the classification targets to use
/// (hard [B] or soft [B, K]); every other target is read from <see cref="Batch"/>. Tensors created
/// here live in the step's dispose scope; the batch keeps ownership of its own.
/// </summary>
/// <param name="Batch">The loader's batch, unchanged.</param>
/// <param name="Images">Network input, [B, 3, H, W].</param>
/// <param name="ClassTargets">Classification targets to train on; null for other families.</param>
/// <param name="MixLambda">Share of each sample's own image in a mixed batch (1 when not mixed).</param>
public sealed record TrainingInput(TaskBatch Batch, Tensor Images, Tensor? ClassTargets, double MixLambda = 1.0)
{
    /// <summary>The batch as the loader made it, without batch-level augmentation.</summary>
    public static TrainingInput Of(TaskBatch batch) => new(batch, batch.Images, batch.ClassTargets);
}
