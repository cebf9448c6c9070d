using GppfActors.Model.Network;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Losses;
using GppfActors.Tasks.Metrics;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

// Shapes: B batch, K classes.

/// <summary>
/// Classification (paper section 4.1): global average pooling plus a linear layer on the last
/// stage; cross-entropy with label smoothing, on mixup/cutmix soft targets when enabled; top-1 and
/// top-5 accuracy.
/// </summary>
internal sealed class ClassificationFamily(TaskDefinition task) : ITaskFamily
{
    public TaskDefinition Task { get; } = task;

    private ClassificationOptions Options => Task.Classification;

    public TaskHeadSpec CreateHeadSpec() =>
        new(Task.Name, (channels, generator) => new ClassifierHead(channels[^1], Task.NumClasses, generator));

    /// <remarks>
    /// Soft targets in the batch ([B, K]) mean the loader already mixed (and smoothed) them, so they
    /// are used as they are; hard labels are mixed here when the options enable it.
    /// </remarks>
    public TrainingInput PrepareTraining(TaskBatch batch, Generator generator)
    {
        var targets = Targets(batch);
        if (targets.dim() == 2 || !Options.MixesBatches)
        {
            return TrainingInput.Of(batch);
        }
        var mixed = MixupCutmix.Apply(batch.Images, targets, Task.NumClasses, Options, generator);
        return new TrainingInput(batch, mixed.Images, mixed.Targets, mixed.Lambda);
    }

    public TaskLoss ComputeLoss(Tensor output, TrainingInput input)
    {
        var targets = input.ClassTargets ?? Targets(input.Batch);
        bool soft = targets.dim() == 2;
        var loss = soft
            ? ClassificationLoss.SoftCrossEntropy(output, targets)
            : ClassificationLoss.CrossEntropy(output, targets, Options.LabelSmoothing);
        // Training accuracy against the dominant class of each (possibly mixed) target.
        var truth = soft ? targets.argmax(1) : targets;                                    // [B]
        var top1 = output.detach().argmax(1).eq(truth).to_type(float32).mean();
        return new TaskLoss(loss, [
            new NamedScalar("loss_cls", loss.detach()),
            new NamedScalar("top1", top1),
            new NamedScalar("mix_lambda", tensor((float)input.MixLambda, device: output.device)),
        ]);
    }

    public ITaskEvaluator CreateEvaluator() => new Evaluator(Task.NumClasses);

    private Tensor Targets(TaskBatch batch) =>
        batch.ClassTargets ?? throw new ArgumentException($"{Task.Key}: a classification batch needs ClassTargets");

    /// <summary>Top-1/top-5 accuracy of a classification task.</summary>
    private sealed class Evaluator(int numClasses) : ITaskEvaluator
    {
        private readonly TopKAccuracy accuracy = new(1, 5);

        public void Update(Tensor output, TaskBatch batch)
        {
            using var scope = NewDisposeScope();
            var targets = batch.ClassTargets ?? throw new ArgumentException("a classification batch needs ClassTargets");
            var labels = targets.dim() == 2 ? targets.argmax(1) : targets;                  // [B]
            var scores = output.detach().to_type(float32).cpu().data<float>().ToArray();    // [B*K]
            accuracy.Update(scores, numClasses, labels.cpu().data<long>().ToArray());
        }

        public IReadOnlyDictionary<string, double> Report() => accuracy.Report();
    }
}
