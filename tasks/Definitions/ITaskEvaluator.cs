using GppfActors.Tasks.Data;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

/// <summary>
/// Accumulates one task's evaluation metrics over batches: decodes each head output (detections,
/// class maps, depth maps) and feeds the family's metric; created by <see cref="ITaskFamily.CreateEvaluator"/>.
/// </summary>
public interface ITaskEvaluator
{
    /// <summary>Decodes <paramref name="output"/> (the head's output for <paramref name="batch"/>'s images) and accumulates it.</summary>
    void Update(Tensor output, TaskBatch batch);

    /// <summary>The metrics over every batch so far, by name (e.g. <c>top1</c>, <c>AP</c>, <c>mIoU</c>, <c>AbsRel</c>).</summary>
    IReadOnlyDictionary<string, double> Report();
}
