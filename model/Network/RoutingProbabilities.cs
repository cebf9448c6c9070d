using static TorchSharp.torch;

namespace GppfActors.Model.Network;

/// <summary>Reads a task's routing as plain numbers, for reports and event files.</summary>
public static class RoutingProbabilities
{
    /// <summary>The unit-selection probabilities of <paramref name="task"/>'s controller, one row per lego layer ([L][N]).</summary>
    public static IReadOnlyList<IReadOnlyList<double>> UnitProbabilities(this GppfNetwork network, string task)
    {
        ArgumentNullException.ThrowIfNull(network);
        using var scope = NewDisposeScope();
        var probabilities = network.Controller(task).Probabilities().to_type(float64);   // [L, N]
        return Enumerable.Range(0, (int)probabilities.shape[0])
            .Select(l => (IReadOnlyList<double>)probabilities[l].cpu().data<double>().ToArray())
            .ToArray();
    }
}
