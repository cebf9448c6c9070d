using GppfActors.Model.Norm;
using GppfActors.Model.Routing;
using GppfActors.Model.Tensors;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// One lego layer of the dynamic backbone: N units of identical architecture and separate weights
/// (state keys <c>units.{k}.*</c>). A route decides whether one unit runs or all run and are mixed.
/// </summary>
public sealed class LegoLayer : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> units;

    /// <summary>Builds <paramref name="numUnits"/> units with <paramref name="makeUnit"/> and links their BN layers position by position.</summary>
    public LegoLayer(int layerIndex, int numUnits, Func<int, nn.Module<Tensor, Tensor>> makeUnit) : base(nameof(LegoLayer))
    {
        LayerIndex = layerIndex;
        units = nn.ModuleList(Enumerable.Range(0, numUnits).Select(makeUnit).ToArray());
        RegisterComponents();
        LinkNormSiblings();
    }

    /// <summary>Position of this layer in the backbone (0 = stem).</summary>
    public int LayerIndex { get; }

    /// <summary>Units N.</summary>
    public int NumUnits => units.Count;

    /// <summary>Unit <paramref name="k"/>.</summary>
    public nn.Module<Tensor, Tensor> Unit(int k) => units[k];

    /// <summary>
    /// Set (to the replica's <see cref="NormSync"/>) when this layer's activations are checkpointed:
    /// a forward that records gradients keeps only the layer input and recomputes the units in
    /// backward (<see cref="CheckpointedForward"/>); null runs the units plainly.
    /// </summary>
    public NormSync? CheckpointSync { get; set; }

    /// <summary>Runs the layer along <paramref name="route"/>.</summary>
    public Tensor forward(Tensor input, LayerRoute route)
    {
        if (!route.IsSoft && (route.Unit < 0 || route.Unit >= units.Count))
        {
            throw new ArgumentOutOfRangeException(nameof(route), route.Unit, $"layer {LayerIndex} has units 0..{units.Count - 1}");
        }
        return CheckpointSync is { } sync && is_grad_enabled()
            ? CheckpointedForward.Run(this, input, route, sync)
            : RunUnits(input, route);
    }

    /// <summary>Runs the units along <paramref name="route"/> (the plain path, and both passes of a checkpointed call).</summary>
    internal Tensor RunUnits(Tensor input, LayerRoute route)
    {
        if (!route.IsSoft)
        {
            var y = units[route.Unit].forward(input);
            return route.Scale is null ? y : y * route.Scale;
        }

        Tensor? sum = null;
        for (int k = 0; k < units.Count; k++)
        {
            var term = units[k].forward(input) * route.Weights![k];
            sum = sum is null ? term : sum.add(term, Scalars.One);   // not sum + term: see Scalars
        }
        return sum!;
    }

    /// <summary>The parameters of the units that run along <paramref name="route"/>, in registration order.</summary>
    internal IReadOnlyList<Tensor> ParametersAlong(LayerRoute route) =>
        route.IsSoft ? [.. parameters()] : [.. units[route.Unit].parameters()];

    /// <summary>Runs unit 0 alone (N = 1 networks and plain calls).</summary>
    public override Tensor forward(Tensor input) => forward(input, LayerRoute.Single(0));

    // The j-th BN of every unit shares statistics collectives in hard mode; see SyncBatchNorm2d.
    private void LinkNormSiblings()
    {
        var perUnit = Enumerable.Range(0, units.Count)
            .Select(k => units[k].modules().Prepend(units[k]).OfType<SyncBatchNorm2d>().Distinct().ToArray())
            .ToArray();
        int count = perUnit[0].Length;
        for (int j = 0; j < count; j++)
        {
            var siblings = perUnit.Select(bns => bns[j]).ToArray();
            for (int k = 0; k < siblings.Length; k++)
            {
                siblings[k].Siblings = siblings;
                siblings[k].UnitIndex = k;
                siblings[k].Tag = $"layer {LayerIndex} bn {j}";
            }
        }
    }
}
