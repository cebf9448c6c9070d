using TorchSharp;

namespace GppfActors.Model.Routing;

/// <summary>What one lego layer runs in one forward pass: a single unit (optionally scaled) or a weighted sum of all units.</summary>
public readonly record struct LayerRoute
{
    private LayerRoute(int unit, torch.Tensor? scale, torch.Tensor? weights)
    {
        Unit = unit;
        Scale = scale;
        Weights = weights;
    }

    /// <summary>The unit that runs alone; -1 in soft mode.</summary>
    public int Unit { get; }

    /// <summary>Straight-through factor (value 1, gradient to the controller) multiplied onto the single unit's output; null when none.</summary>
    public torch.Tensor? Scale { get; }

    /// <summary>Soft-mode weights, shape [N]; null otherwise.</summary>
    public torch.Tensor? Weights { get; }

    /// <summary>True when every unit runs.</summary>
    public bool IsSoft => Weights is not null;

    /// <summary>Only <paramref name="unit"/> runs, output unscaled (evaluation, fixed paths, static networks).</summary>
    public static LayerRoute Single(int unit) => new(unit, null, null);

    /// <summary>Only <paramref name="unit"/> runs; its output is multiplied by the straight-through <paramref name="scale"/>.</summary>
    public static LayerRoute Hard(int unit, torch.Tensor scale) => new(unit, scale, null);

    /// <summary>Every unit runs; the output is the <paramref name="weights"/>-weighted sum.</summary>
    public static LayerRoute Soft(torch.Tensor weights) => new(-1, null, weights);
}
