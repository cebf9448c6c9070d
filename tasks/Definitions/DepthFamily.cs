using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Heads;
using GppfActors.Tasks.Losses;
using GppfActors.Tasks.Metrics;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

// Shapes: B batch, H x W image.

/// <summary>
/// Monocular depth (paper section 4.3.1, a downstream task with BTS's recipe): a dense log-depth
/// regression head, SILog loss over pixels whose ground truth lies in (min, max) depth; evaluation
/// clamps predictions to [min, max] depth and reports the KITTI metrics of the paper's Table 4 over the
/// same pixels.
/// </summary>
internal sealed class DepthFamily(TaskDefinition task, BackboneConfig backbone) : ITaskFamily
{
    public TaskDefinition Task { get; } = task;

    private DepthOptions Options => Task.Depth;

    public TaskHeadSpec CreateHeadSpec()
    {
        int finestStride = BackboneGeometry.StageStrides(backbone)[0];
        return new(Task.Name, (channels, generator) => new DepthHead(channels, finestStride, Options, generator));
    }

    public TrainingInput PrepareTraining(TaskBatch batch, Generator generator) => TrainingInput.Of(batch);

    public TaskLoss ComputeLoss(Tensor output, TrainingInput input)
    {
        var depth = Depth(input.Batch);
        var predicted = DenseUpsample.CropTo(output, depth.shape[2], depth.shape[3]);         // [B, 1, H, W]
        var loss = SilogLoss.Compute(predicted, depth, Options.SilogLambda, Options.SilogScale, Options.MinDepthMetres, Options.MaxDepthMetres);
        var valid = SilogLoss.ValidMask(depth, Options.MinDepthMetres, Options.MaxDepthMetres);  // [B, 1, H, W]
        var relative = (predicted.detach() - depth).abs() / depth.clamp_min(Options.MinDepthMetres);  // [B, 1, H, W]
        var absRel = where(valid, relative, zeros_like(relative)).sum() / valid.sum().to_type(float32).clamp_min(1);
        return new TaskLoss(loss, [
            new NamedScalar("loss_silog", loss.detach()),
            new NamedScalar("abs_rel", absRel),
        ]);
    }

    public ITaskEvaluator CreateEvaluator() => new Evaluator(this);

    private Tensor Depth(TaskBatch batch) =>
        batch.Depth ?? throw new ArgumentException($"{Task.Key}: a depth batch needs Depth");

    /// <summary>KITTI depth metrics of a depth task.</summary>
    private sealed class Evaluator(DepthFamily family) : ITaskEvaluator
    {
        private readonly DepthMetrics metrics = new(family.Options.MinDepthMetres, family.Options.MaxDepthMetres);

        public void Update(Tensor output, TaskBatch batch)
        {
            using var scope = NewDisposeScope();
            var depth = family.Depth(batch);
            var options = family.Options;
            var predicted = DenseUpsample.CropTo(output.detach(), depth.shape[2], depth.shape[3])
                .clamp(options.MinDepthMetres, options.MaxDepthMetres).to_type(float32).cpu();  // [B, 1, H, W]
            var truth = depth.to_type(float32).cpu();                                           // [B, 1, H, W]
            for (int b = 0; b < predicted.shape[0]; b++)
            {
                metrics.AddImage(predicted[b].data<float>().ToArray(), truth[b].data<float>().ToArray());
            }
        }

        public IReadOnlyDictionary<string, double> Report() => metrics.Report();
    }
}
