using GppfActors.Collectives;
using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using GppfActors.Model.Training;
using GppfActors.Testing;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Training;

/// <summary>
/// SIMT steps of the two toy tasks on in-process virtual devices, replayable from (step, rank):
/// the task of each device, the step's plan and the loss closure, shared by the step specs.
/// </summary>
internal static class ToyTraining
{
    public static string TaskFor(long step, int rank) =>
        (step + rank) % 3 == 0 ? ToyTasks.Stripes.Name : ToyTasks.Colour.Name;

    public static StepPlan Plan(long step, int rank, int worldSize, RoutingMode mode = RoutingMode.Soft) =>
        new(step, TaskFor(step, rank), Enumerable.Range(0, worldSize).Select(r => TaskFor(step, r)).Distinct().ToArray(),
            mode, 1.0, 0.05, 2024);

    /// <summary>A replica with its own initial weights (seed = rank): callers align it from rank 0.</summary>
    public static Replica NewReplica(int rank, OptimizerKind optimizer = OptimizerKind.Sgd) =>
        new(Nets.Tiny(2, seed: 100 + rank, ToyTasks.Colour, ToyTasks.Stripes),
            new OptimizerConfig(optimizer, Momentum: 0.9, WeightDecay: 1e-4));

    public static Tensor Loss(GppfNetwork net, RouteRequest request, StepPlan plan, int rank)
    {
        var (x, y) = ToyTasks.Batch(plan.Task, plan.Step, rank);
        return nn.functional.cross_entropy(net.Forward(plan.Task, x, request), y);
    }

    /// <summary>Runs <paramref name="plan"/> on <paramref name="replica"/> with the toy loss.</summary>
    public static StepResult Step(Replica replica, ICollectiveGroup group, StepPlan plan) =>
        replica.TrainStep(group, plan, (net, request) => Loss(net, request, plan, group.Rank));

    /// <summary>Parameters, buffers and optimizer state (keys prefixed <c>optimizer:</c>), copied.</summary>
    public static Dictionary<string, Tensor> FullState(Replica replica)
    {
        using var scope = NewDisposeScope();
        var model = StateAssert.Snapshot(replica.Network.state_dict());
        var optimizer = StateAssert.Snapshot(replica.Optimizer.StateDict());
        foreach (var (key, value) in optimizer)
        {
            model[$"optimizer:{key}"] = value;
        }
        return model;
    }
}
