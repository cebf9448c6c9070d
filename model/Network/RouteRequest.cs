using GppfActors.Model.Routing;

namespace GppfActors.Model.Network;

/// <summary>How to route one forward pass: the mode, the Gumbel temperature, and the noise key (seed, step, rank); or a fixed path.</summary>
public sealed record RouteRequest(RoutingMode Mode, double Tau, ulong Seed, long Step, int Rank)
{
    /// <summary>When set, layer l runs unit FixedPath[l] alone (fixed-path fine-tuning); the controller is not used.</summary>
    public IReadOnlyList<int>? FixedPath { get; init; }

    /// <summary>Evaluation routing: the arg-max unit of every layer.</summary>
    public static RouteRequest Eval { get; } = new(RoutingMode.ArgMax, 1.0, 0, 0, 0);

    /// <summary>Runs the given path.</summary>
    public static RouteRequest Path(IReadOnlyList<int> path) => Eval with { FixedPath = path };
}
