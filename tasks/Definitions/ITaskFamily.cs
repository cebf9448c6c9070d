using GppfActors.Model.Network;
using GppfActors.Tasks.Data;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

/// <summary>
/// The family-specific parts of one task, bound to that task and to the backbone it runs on:
/// the head, the batch-level training augmentation, the loss, and the evaluator (decoder plus
/// metrics). Obtained from <see cref="TaskFamilies.For"/>; stateless apart from those two inputs.
/// </summary>
public interface ITaskFamily
{
    /// <summary>The task this instance serves.</summary>
    TaskDefinition Task { get; }

    /// <summary>The head to register in the network under the task's name (it reads the last backbone stage).</summary>
    TaskHeadSpec CreateHeadSpec();

    /// <summary>
    /// Batch-level training augmentation done on the device (classification: mixup or cutmix with
    /// label smoothing); every draw comes from <paramref name="generator"/>. Leaves the batch unchanged.
    /// </summary>
    TrainingInput PrepareTraining(TaskBatch batch, Generator generator);

    /// <summary>The task loss (before the task's loss weight) of the head's <paramref name="output"/> for <paramref name="input"/>.</summary>
    TaskLoss ComputeLoss(Tensor output, TrainingInput input);

    /// <summary>A fresh evaluator of this task's metrics.</summary>
    ITaskEvaluator CreateEvaluator();
}
