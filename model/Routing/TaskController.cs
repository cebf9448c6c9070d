using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Routing;

/// <summary>
/// The Gumbel-Softmax controller of one task: logits over the N units of each of the L lego
/// layers (state key <c>logits</c>, shape [L, N]). Owned by <see cref="Network.GppfNetwork"/>.
/// </summary>
public sealed class TaskController : nn.Module
{
    private readonly Parameter logits;

    /// <summary>Creates a controller with uniform selection probabilities (zero logits).</summary>
    public TaskController(string name, int numLayers, int numUnits) : base(name)
    {
        if (numLayers < 1 || numUnits < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numLayers), $"controller needs at least one layer and one unit (got {numLayers} x {numUnits})");
        }
        NumLayers = numLayers;
        NumUnits = numUnits;
        logits = new Parameter(zeros(numLayers, numUnits));
        RegisterComponents();
    }

    /// <summary>Number of lego layers L.</summary>
    public int NumLayers { get; }

    /// <summary>Units per layer N.</summary>
    public int NumUnits { get; }

    /// <summary>The raw logits parameter, [L, N].</summary>
    public Parameter Logits => logits;

    /// <summary>Selection probabilities p = softmax(logits) per layer, [L, N], detached.</summary>
    public Tensor Probabilities()
    {
        using var _ = no_grad();
        return nn.functional.softmax(logits, 1);
    }

    /// <summary>The arg-max unit of every layer: the task's extracted path.</summary>
    public int[] ArgMaxPath()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var idx = logits.argmax(1);
        return idx.cpu().data<long>().ToArray().Select(i => (int)i).ToArray();
    }

    /// <summary>
    /// Samples one route per layer: u = softmax((log p + G) / tau) with counter-based Gumbel noise G
    /// from (seed, step, rank, layer); soft mode weights all units by u, hard mode runs the arg-max
    /// of u with the straight-through factor (onehot - stop_gradient(u) + u)[k], arg-max mode runs
    /// the arg-max of p. Route tensors live in the caller's dispose scope.
    /// </summary>
    public LayerRoute[] Route(RoutingMode mode, double tau, ulong seed, long step, int rank)
    {
        if (NumUnits == 1)
        {
            return Enumerable.Repeat(LayerRoute.Single(0), NumLayers).ToArray();
        }
        if (mode == RoutingMode.ArgMax)
        {
            return ArgMaxPath().Select(LayerRoute.Single).ToArray();
        }
        if (!(tau > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(tau), tau, "Gumbel temperature must be > 0");
        }

        var noise = new float[NumLayers * NumUnits];
        for (int l = 0; l < NumLayers; l++)
        {
            GumbelNoise.Sample(seed, step, rank, l, noise.AsSpan(l * NumUnits, NumUnits));
        }
        var g = tensor(noise, device: logits.device).reshape(NumLayers, NumUnits); // [L, N]
        var u = nn.functional.softmax((nn.functional.log_softmax(logits, 1) + g) / tau, 1); // [L, N]

        var routes = new LayerRoute[NumLayers];
        if (mode == RoutingMode.Soft)
        {
            for (int l = 0; l < NumLayers; l++)
            {
                routes[l] = LayerRoute.Soft(u[l]);                                  // [N]
            }
            return routes;
        }

        long[] chosen = u.detach().argmax(1).cpu().data<long>().ToArray();
        for (int l = 0; l < NumLayers; l++)
        {
            int k = (int)chosen[l];
            var uk = u[l, k];                                                        // scalar
            routes[l] = LayerRoute.Hard(k, 1.0f - uk.detach() + uk);
        }
        return routes;
    }
}
