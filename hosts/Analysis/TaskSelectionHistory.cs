namespace GppfActors.Host.Analysis;

/// <summary>One task's history: the recorded steps and, per layer and unit, the probability at each step.</summary>
internal sealed record TaskSelectionHistory(IReadOnlyList<long> Steps, IReadOnlyList<IReadOnlyList<double[]>> Probabilities)
{
    /// <summary>[layer][unit] -> one value per step; steps missing a layer are dropped.</summary>
    public static TaskSelectionHistory From(SortedDictionary<long, SortedDictionary<int, double[]>> steps)
    {
        int numLayers = steps.Values.Max(l => l.Count);
        var complete = steps.Where(s => s.Value.Count == numLayers).ToList();
        int numUnits = complete[0].Value[0].Length;
        var probabilities = Enumerable.Range(0, numLayers)
            .Select(l => (IReadOnlyList<double[]>)Enumerable.Range(0, numUnits).Select(k => complete.Select(s => s.Value[l][k]).ToArray()).ToArray())
            .ToArray();
        return new TaskSelectionHistory(complete.Select(s => s.Key).ToArray(), probabilities);
    }

    public int NumLayers => Probabilities.Count;
}
