using GppfActors.Model.Network;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Training;

/// <summary>
/// Evaluates one task of a network over batches: evaluation mode (BatchNorm running statistics,
/// arg-max routing, no collectives), no autograd, one dispose scope per batch, and the family's
/// decoder and metrics.
/// </summary>
public static class TaskEvaluation
{
    /// <summary>
    /// The family's metrics of <paramref name="task"/> over <paramref name="batches"/> (routing:
    /// <paramref name="request"/>, default <see cref="RouteRequest.Eval"/>; a fixed path evaluates an
    /// extracted route). The network is left in evaluation mode; the train step sets training mode itself.
    /// </summary>
    public static IReadOnlyDictionary<string, double> Run(GppfNetwork network, TaskDefinition task, IEnumerable<TaskBatch> batches, RouteRequest? request = null)
    {
        var evaluator = TaskFamilies.For(task, network.Config).CreateEvaluator();
        network.eval();
        // Evaluation normalises with running statistics, so no device waits for another.
        network.Sync.Group = null;
        using var _ = no_grad();
        foreach (var batch in batches)
        {
            using var scope = NewDisposeScope();
            var output = network.Forward(task.Name, batch.Images, request ?? RouteRequest.Eval);
            evaluator.Update(output, batch);
        }
        return evaluator.Report();
    }
}
