using System.Runtime.ExceptionServices;
using GppfActors.Model.Norm;
using GppfActors.Model.Precision;
using GppfActors.Model.Routing;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// Activation checkpointing of one <see cref="LegoLayer"/> call, as a TorchSharp custom autograd
/// function: forward runs the layer's units without building a graph and keeps only the layer
/// input and the route's tensor; backward runs the units again with gradients enabled and
/// differentiates that small graph with a nested <c>autograd.grad</c> inside the outer backward.
/// Called by <see cref="LegoLayer"/>; one autograd node per call.
/// </summary>
/// <remarks>
/// Inputs of the node: the layer input, the route's weights (soft) or straight-through scale (hard),
/// both carrying gradient towards the controller logits, and the parameters of the units that run,
/// so their gradients reach the outer graph like any parameter's (and the node joins the graph even
/// when nothing else needs a gradient, as in the stem with a fixed path). Replay is exact because the
/// recomputation sees the same input, the same route values and the same parameters (the optimizer
/// runs only after backward), units draw no random numbers of their own (the Gumbel noise is computed
/// outside the layer, counter-based), and SyncBN layers normalise with the statistics the first pass
/// recorded (<see cref="NormTape"/>) instead of all-reducing again or staging running statistics twice,
/// and the recomputation runs at the first pass's compute precision (<see cref="Autocast"/>), whatever
/// thread libtorch's backward calls it on.
/// Failures follow SyncBN's rule: an exception must not leave a custom function's forward (it would
/// leak the half-built node and the graph behind it) nor its backward (it would kill the process).
/// A forward failure is kept and rethrown by <see cref="Run"/> once the node is built; a backward
/// failure is recorded in the replica's <see cref="NormSync"/>, the node returns zero gradients, and
/// the step owner rethrows it after <c>backward()</c> returns (<see cref="NormSync.ThrowIfFailed"/>).
/// </remarks>
internal sealed class CheckpointedForward : autograd.SingleTensorFunction<CheckpointedForward>
{
    // apply's arguments: the call, the layer input, the route tensor (or null), then the parameters.
    private const int FirstParameter = 3;

    // The gradients the previous backward of this thread returned. libtorch holds its own references
    // once backward returns, so the next backward disposes these handles: left in the step's dispose
    // scope, every layer's input gradient would stay alive until the step ends.
    [ThreadStatic]
    private static List<Tensor>? returned;

    public override string Name => "CheckpointedLegoLayer";

    /// <summary>Runs <paramref name="layer"/> along <paramref name="route"/> keeping only its input; rethrows a failure of the first pass.</summary>
    public static Tensor Run(LegoLayer layer, Tensor input, LayerRoute route, NormSync sync)
    {
        var parameters = layer.ParametersAlong(route);
        var call = new Call(layer, route, sync, parameters);
        var args = new object[FirstParameter + parameters.Count];
        args[0] = call;
        args[1] = input;
        args[2] = (route.Weights ?? route.Scale)!;     // null: a non-tensor argument, gradient null
        for (int i = 0; i < parameters.Count; i++)
        {
            args[FirstParameter + i] = parameters[i];
        }
        var output = apply(args);
        if (call.ForwardFailure is { } failure)
        {
            call.Tape.Release();
            ExceptionDispatchInfo.Throw(failure);
        }
        return output;
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var call = (Call)vars[0];
        var input = (Tensor)vars[1];
        var routeTensor = vars[2] as Tensor;
        ctx.save_data("call", call);
        ctx.save_for_backward([input, routeTensor!]);
        try
        {
            // TorchSharp runs a custom forward with gradients disabled: no graph, no saved activations.
            // The units' intermediate tensors get a scope of their own: in the step's scope their
            // handles would keep them alive until the step ends, graph or no graph.
            using var scope = NewDisposeScope();
            call.Sync.BeginRecording(call.Tape);
            try
            {
                return call.Layer.RunUnits(input, call.Route).MoveToOuterDisposeScope();
            }
            finally
            {
                call.Sync.EndTape();
            }
        }
        catch (Exception e)
        {
            call.ForwardFailure = e;
            return empty(0);
        }
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var call = (Call)ctx.get_data("call");
        try
        {
            ReleaseReturned();
            if (call.Sync.Failure is null)
            {
                return Remember(Recompute(ctx, call, gradOutput));
            }
        }
        catch (Exception e)
        {
            call.Sync.RecordFailure(e);
        }
        call.Tape.Release();        // no replay will take the device statistics it holds
        return Zeros(ctx, call);
    }

    private static List<Tensor> Recompute(autograd.AutogradContext ctx, Call call, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        bool inputNeedsGrad = saved[0].requires_grad;
        bool routeNeedsGrad = saved[1] is { requires_grad: true };
        using var gradMode = enable_grad();
        var input = saved[0].detach().requires_grad_(inputNeedsGrad);
        var routeTensor = saved[1]?.detach().requires_grad_(routeNeedsGrad);
        var route = call.Route.IsSoft ? LayerRoute.Soft(routeTensor!)
            : routeTensor is null ? call.Route
            : LayerRoute.Hard(call.Route.Unit, routeTensor);

        Tensor output;
        call.Sync.BeginReplay(call.Tape);
        try
        {
            using var precision = Autocast.Enter(call.Precision);
            output = call.Layer.RunUnits(input, route);
        }
        finally
        {
            call.Sync.EndTape();
        }

        var wrt = new List<Tensor>();
        if (inputNeedsGrad)
        {
            wrt.Add(input);
        }
        if (routeNeedsGrad)
        {
            wrt.Add(routeTensor!);
        }
        wrt.AddRange(call.Parameters.Where(p => p.requires_grad));
        var grads = wrt.Count == 0 ? [] : autograd.grad([output], wrt, [gradOutput]);

        int next = 0;
        var result = new List<Tensor> { null!, inputNeedsGrad ? grads[next++] : null!, routeNeedsGrad ? grads[next++] : null! };
        result.AddRange(call.Parameters.Select(p => p.requires_grad ? grads[next++] : null!));
        return [.. result.Select(g => g?.MoveToOuterDisposeScope()!)];
    }

    private static void ReleaseReturned()
    {
        foreach (var t in returned ?? [])
        {
            t.Dispose();
        }
        returned?.Clear();
    }

    private static List<Tensor> Remember(List<Tensor> gradients)
    {
        (returned ??= []).AddRange(gradients.Where(g => g is not null));
        return gradients;
    }

    // After a failure: zero gradients, no recomputation, no collective (the step is thrown away).
    private static List<Tensor> Zeros(autograd.AutogradContext ctx, Call call)
    {
        var saved = ctx.get_saved_variables();
        var result = new List<Tensor> { null!, zeros_like(saved[0]), saved[1] is null ? null! : zeros_like(saved[1]) };
        result.AddRange(call.Parameters.Select(p => zeros_like(p)));
        return result;
    }

    /// <summary>What one checkpointed call needs again in backward, and what its first pass left.</summary>
    private sealed class Call(LegoLayer layer, LayerRoute route, NormSync sync, IReadOnlyList<Tensor> parameters)
    {
        public LegoLayer Layer { get; } = layer;

        public LayerRoute Route { get; } = route;

        public NormSync Sync { get; } = sync;

        public IReadOnlyList<Tensor> Parameters { get; } = parameters;

        /// <summary>The first pass's compute precision, entered again by the recomputation (which may run on another thread).</summary>
        public ComputePrecision Precision { get; } = Autocast.Current;

        public NormTape Tape { get; } = new();

        public Exception? ForwardFailure { get; set; }
    }
}
