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
/// <remarks>
/// A replica either owns its weights and optimizer state, or (built by
/// <see cref="SharedModel.CreateReplica"/>) aliases those of a <see cref="SharedModel"/> together
/// with the other devices of its process: then it keeps only its gradients and activations, fuses
/// in the gradients themselves, and the step's update is applied once for all of them. Both give
/// bit-identical results.
/// </remarks>
public sealed class Replica : IDisposable
{
    private readonly TaskAverageFusion fusion = new();
    private readonly SharedModel? shared;
    private bool disposed;

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

    // A device's view of shared weights; its network was attached by the shared model.
    internal Replica(GppfNetwork network, SharedModel shared)
    {
        Network = network;
        Optimizer = shared.Optimizer;
        this.shared = shared;
        norms = network.modules().OfType<SyncBatchNorm2d>().ToArray();
    }

    /// <summary>The weights this replica aliases with the other devices of its process; null when it owns its own.</summary>
    public SharedModel? Shared => shared;

    /// <summary>The model replica.</summary>
    public GppfNetwork Network { get; }

    /// <summary>The optimizer over every parameter of <see cref="Network"/> (with shared weights: the shared one).</summary>
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
        // A group of one has nothing to synchronise: libtorch's batch norm is cheaper than the synced function.
        sync.BeginStep(plan.SyncBatchNorm && group.WorldSize > 1 ? group : null, plan.Mode == RoutingMode.Hard,
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
            var parameters = Network.ParametersForTasks(plan.ActiveTasks);
            bool notFinite = !double.IsFinite(lossValue);
            var fused = shared is null ? fusion.Fuse(group, parameters, notFinite, exchange) : TaskAverageFusion.FuseInPlace(group, parameters, notFinite, exchange);
            double fusionSeconds = clock.Elapsed.TotalSeconds - forwardBackward;
            plan.OnPhase?.Invoke(StepPhase.AfterFusion);
            if (fused.NonFiniteRanks > 0)
            {
                sync.DiscardRunningStats();
                return new StepResult(lossValue, 0, forwardBackward, fusionSeconds, 0, Applied: false, NonFiniteRanks: fused.NonFiniteRanks);
            }
            if (shared is null)
            {
                Apply(exchange, () => Optimizer.Step(plan.LearningRate));
            }
            else
            {
                // Every device holds the same fused gradient and staged statistics; whichever comes
                // first applies them to the shared state, the others wait until it has.
                shared.ApplyOnce(group.Epoch, plan.Step, () => Apply(exchange, () => shared.Step(parameters, plan.LearningRate)));
                Network.zero_grad(true);
            }
            double optimizerSeconds = clock.Elapsed.TotalSeconds - forwardBackward - fusionSeconds;
            return new StepResult(lossValue, fused.NumUpdated, forwardBackward, fusionSeconds, optimizerSeconds);
        }
        finally
        {
            sync.EndStep();             // discards whatever was not committed
        }
    }

    private void Apply(float[]? runningStatsExchange, Action optimizerStep)
    {
        if (runningStatsExchange is not null)
        {
            RunningStatsAverage.Unpack(norms, runningStatsExchange);
        }
        optimizerStep();
        Network.Sync.CommitRunningStats();
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
        var device = Network.parameters().First().device;
        BroadcastOn(device, group, Network.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList(), root, "align-replicas");
        if (shared is null)
        {
            var state = Optimizer.StateDict();
            BroadcastOn(device, group, state.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList(), root, "align-optimizer");
            Optimizer.LoadStateDict(state);
            return;
        }
        // Shared weights: the broadcast writes into the shared buffers themselves (a copy per
        // device is what sharing saves). The devices of this process write the same values there,
        // so whichever writes last leaves them as the root has them.
        var views = Optimizer.StateViews();
        group.Broadcast(views.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList(), root, "align-optimizer");
        lock (shared.Gate)
        {
            Optimizer.ApplyStateViews(views);
        }
    }

    // A GPU replica's state may hold host tensors (the optimizers' step counts): they travel through
    // a copy on the device, since NCCL reduces device memory only.
    private static void BroadcastOn(Device device, ICollectiveGroup group, List<Tensor> tensors, int root, string operation)
    {
        if (device.type == TorchSharp.DeviceType.CPU)
        {
            group.Broadcast(tensors, root, operation);
            return;
        }
        var staged = tensors.Select(t => t.device_type == device.type && t.device_index == device.index ? t : t.to(device)).ToList();
        group.Broadcast(staged, root, operation);
        for (int i = 0; i < tensors.Count; i++)
        {
            if (!ReferenceEquals(staged[i], tensors[i]))
            {
                tensors[i].copy_(staged[i]);
            }
        }
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
        if (shared is null)
        {
            Load(own, modelState, optimizerState);
            return;
        }
        // Every device of the process restores the same checkpoint into the same storage; one at a time.
        lock (shared.Gate)
        {
            Load(own, modelState, optimizerState);
        }
    }

    private void Load(Dictionary<string, Tensor> own, IReadOnlyDictionary<string, Tensor> modelState, IReadOnlyDictionary<string, Tensor> optimizerState)
    {
        Optimizer.LoadStateDict(optimizerState);
        using var _ = no_grad();
        foreach (var (key, target) in own)
        {
            target.copy_(modelState[key]);
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        fusion.Dispose();
        Network.Dispose();
        if (shared is null)
        {
            Optimizer.Dispose();
        }
        else
        {
            shared.Detach();
        }
    }
}
