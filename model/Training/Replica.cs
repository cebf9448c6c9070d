using System.Diagnostics;
using GppfActors.Collectives;
using GppfActors.Model.Fusion;
using GppfActors.Model.Network;
using GppfActors.Model.Norm;
using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using static TorchSharp.torch;

namespace GppfActors.Model.Training;

/// <summary>
/// One device's copy of the model with its optimizer state and fusion buffers: runs the SIMT step
/// (single-task forward and backward with cross-task SyncBN, task-average fusion, optimizer step).
/// Owned by the device's owner (a device actor, a benchmark, a test); used from one thread.
/// </summary>
public sealed class Replica : IDisposable
{
    private readonly TaskAverageFusion fusion = new();

    // Every BatchNorm of the network in registration order (the same on every replica).
    private readonly IReadOnlyList<SyncBatchNorm2d> norms;

    /// <summary>Takes ownership of <paramref name="network"/> and builds the optimizer over all its parameters.</summary>
    public Replica(GppfNetwork network, OptimizerConfig optimizer)
    {
        Network = network;
        Optimizer = Optimizers.Create(optimizer, network.NamedParameters());
        Optimizer.InitializeState();
        norms = network.modules().OfType<SyncBatchNorm2d>().ToArray();
    }

    /// <summary>The model replica.</summary>
    public GppfNetwork Network { get; }

    /// <summary>The optimizer over every parameter of <see cref="Network"/>.</summary>
    public IGppfOptimizer Optimizer { get; }

    /// <summary>
    /// Runs one SIMT step. <paramref name="loss"/> computes this device's task loss from the network
    /// and the route request (it owns the data and the head call); everything it creates lives in
    /// this step's dispose scope.
    /// </summary>
    /// <remarks>
    /// The step either applies on every replica or changes nothing: BatchNorm running statistics
    /// are staged during forward and written only after the optimizer step; a step in which any
    /// device's loss or gradient is not finite is skipped everywhere (<see cref="StepResult.Applied"/>
    /// false); a step that fails (a collective aborted because a peer died, a fault in
    /// <see cref="StepPlan.OnPhase"/>) throws and leaves parameters, buffers and optimizer state as
    /// they were. Failures inside backward surface after <c>backward()</c> returns (see
    /// <see cref="NormSync"/>).
    /// </remarks>
    public StepResult TrainStep(ICollectiveGroup group, StepPlan plan, Func<GppfNetwork, RouteRequest, Tensor> loss)
    {
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        var sync = Network.Sync;
        Network.train();
        Network.zero_grad(true);        // to null, so "used this step" is "has a gradient"
        sync.BeginStep(plan.SyncBatchNorm ? group : null, plan.Mode == RoutingMode.Hard,
            plan.OnPhase is { } onPhase ? () => onPhase(StepPhase.InBackward) : null);
        try
        {
            var request = new RouteRequest(plan.Mode, plan.Tau, plan.Seed, plan.Step, group.Rank);
            Tensor value;
            try
            {
                value = loss(Network, request);
            }
            catch when (sync.Failure is not null)
            {
                // The forward went on without collectives after one failed; what broke next is a consequence.
                sync.ThrowIfFailed();
                throw;
            }
            sync.ThrowIfFailed();
            plan.OnPhase?.Invoke(StepPhase.AfterForward);
            value.backward();
            sync.ThrowIfFailed();
            double lossValue = value.item<float>();
            double forwardBackward = clock.Elapsed.TotalSeconds;

            var exchange = plan.SyncBatchNorm ? null : RunningStatsAverage.Pack(norms);
            var fused = fusion.Fuse(group, Network.ParametersForTasks(plan.ActiveTasks), !double.IsFinite(lossValue), exchange);
            double fusionSeconds = clock.Elapsed.TotalSeconds - forwardBackward;
            plan.OnPhase?.Invoke(StepPhase.AfterFusion);
            if (fused.NonFiniteRanks > 0)
            {
                sync.DiscardRunningStats();
                return new StepResult(lossValue, 0, forwardBackward, fusionSeconds, 0, Applied: false, NonFiniteRanks: fused.NonFiniteRanks);
            }
            if (exchange is not null)
            {
                RunningStatsAverage.Unpack(norms, exchange);
            }

            Optimizer.Step(plan.LearningRate);
            sync.CommitRunningStats();
            double optimizerSeconds = clock.Elapsed.TotalSeconds - forwardBackward - fusionSeconds;
            return new StepResult(lossValue, fused.NumUpdated, forwardBackward, fusionSeconds, optimizerSeconds);
        }
        finally
        {
            sync.EndStep();             // discards whatever was not committed
        }
    }

    /// <summary>
    /// Makes every replica of the group hold <paramref name="root"/>'s parameters, buffers and
    /// optimizer state (bit-identical): how replicas are formed at start and how a restarted
    /// device catches up with a healthy one.
    /// </summary>
    public void AlignFrom(ICollectiveGroup group, int root = 0)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        group.Broadcast(Network.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList(), root, "align-replicas");
        var state = Optimizer.StateDict();
        group.Broadcast(state.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList(), root, "align-optimizer");
        Optimizer.LoadStateDict(state);
    }

    /// <summary>
    /// Replaces parameters, buffers and optimizer state with a checkpoint's (resume). The key sets
    /// must match exactly; on any mismatch nothing is changed and the message lists the problems.
    /// </summary>
    public void Restore(IReadOnlyDictionary<string, Tensor> modelState, IReadOnlyDictionary<string, Tensor> optimizerState)
    {
        using var scope = NewDisposeScope();
        var own = Network.state_dict();
        var problems = own.Keys.Except(modelState.Keys).Select(k => $"missing {k}")
            .Concat(modelState.Keys.Except(own.Keys).Select(k => $"unexpected {k}"))
            .Concat(own.Where(kv => modelState.TryGetValue(kv.Key, out var v) && (!v.shape.SequenceEqual(kv.Value.shape) || v.dtype != kv.Value.dtype))
                .Select(kv => $"{kv.Key}: [{string.Join(", ", modelState[kv.Key].shape)}] {modelState[kv.Key].dtype}, expected [{string.Join(", ", kv.Value.shape)}] {kv.Value.dtype}"))
            .ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"checkpoint does not fit this model: {string.Join("; ", problems.Take(20))}{(problems.Count > 20 ? $"; and {problems.Count - 20} more" : "")}");
        }
        Optimizer.LoadStateDict(optimizerState);
        using var _ = no_grad();
        foreach (var (key, target) in own)
        {
            target.copy_(modelState[key]);
        }
    }

    public void Dispose()
    {
        fusion.Dispose();
        Optimizer.Dispose();
        Network.Dispose();
    }
}
