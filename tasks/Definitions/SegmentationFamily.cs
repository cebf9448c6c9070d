using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Heads;
using GppfActors.Tasks.Losses;
using GppfActors.Tasks.Metrics;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

// Shapes: B batch, K classes, H x W mask, V labelled pixels.

/// <summary>
/// Semantic segmentation with a UperNet-lite head (paper section 4.1 uses UperNet): per-pixel
/// cross-entropy ignoring label 255; evaluation accumulates a confusion matrix and reports mIoU
/// and pixel accuracy.
/// </summary>
internal sealed class SegmentationFamily(TaskDefinition task, BackboneConfig backbone) : ITaskFamily
{
    public TaskDefinition Task { get; } = task;

    public TaskHeadSpec CreateHeadSpec()
    {
        int finestStride = BackboneGeometry.StageStrides(backbone)[0];
        return new(Task.Name, (channels, generator) => new SegmentationHead(channels, finestStride, Task.NumClasses, Task.Segmentation, generator));
    }

    public TrainingInput PrepareTraining(TaskBatch batch, Generator generator) => TrainingInput.Of(batch);

    public TaskLoss ComputeLoss(Tensor output, TrainingInput input)
    {
        var masks = Masks(input.Batch);
        var loss = SegmentationLoss.CrossEntropy(output, masks);
        var predicted = DenseUpsample.CropTo(output.detach(), masks.shape[1], masks.shape[2]).argmax(1);  // [B, H, W]
        var labelled = masks.ne(SegmentationOptions.IgnoreIndex);                             // [B, H, W]
        var accuracy = predicted.eq(masks).logical_and(labelled).sum().to_type(float32) / labelled.sum().to_type(float32).clamp_min(1);
        return new TaskLoss(loss, [
            new NamedScalar("loss_seg", loss.detach()),
            new NamedScalar("pixel_accuracy", accuracy),
        ]);
    }

    public ITaskEvaluator CreateEvaluator() => new Evaluator(this);

    private Tensor Masks(TaskBatch batch) =>
        batch.Masks ?? throw new ArgumentException($"{Task.Key}: a segmentation batch needs Masks");

    /// <summary>Confusion-matrix metrics of a segmentation task.</summary>
    private sealed class Evaluator(SegmentationFamily family) : ITaskEvaluator
    {
        private readonly ConfusionMatrix matrix = new(family.Task.NumClasses);

        public void Update(Tensor output, TaskBatch batch)
        {
            using var scope = NewDisposeScope();
            var masks = family.Masks(batch);
            int k = family.Task.NumClasses;
            var predicted = DenseUpsample.CropTo(output.detach(), masks.shape[1], masks.shape[2]).argmax(1).reshape(-1);  // [B*H*W]
            var truth = masks.reshape(-1);                                                    // [B*H*W]
            var index = truth.ne(SegmentationOptions.IgnoreIndex).nonzero().squeeze(1);       // [V]
            // Counted on the device; only K*K numbers travel to the host.
            var pairs = truth.index_select(0, index) * k + predicted.index_select(0, index);  // [V]
            var counts = pairs.bincount(null, k * k);                                    // [K*K]
            matrix.AddCounts(counts.cpu().data<long>().ToArray());
        }

        public IReadOnlyDictionary<string, double> Report() => matrix.Report();
    }
}
