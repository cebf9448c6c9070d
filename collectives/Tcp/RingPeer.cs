namespace GppfActors.Collectives;

/// <summary>One process's place in the ring between processes of an epoch.</summary>
/// <param name="RingIndex">Position in the ring: processes ordered by their lowest global rank.</param>
/// <param name="GlobalRanks">The spec's ranks this process holds, ascending; the first leads it in the ring.</param>
internal sealed record RingPeer(int RingIndex, IReadOnlyList<int> GlobalRanks, string ProcessId, string Endpoint)
{
    public int LeaderRank => GlobalRanks[0];

    /// <summary>The ring of a spec: one peer per process, in process order.</summary>
    public static IReadOnlyList<RingPeer> Of(GroupSpec spec) =>
        spec.ProcessOrder()
            .Select((processId, index) => new RingPeer(index, spec.RanksOf(processId), processId, spec.Members[spec.RanksOf(processId)[0]].Endpoint))
            .ToList();

    public override string ToString() =>
        $"{(GlobalRanks.Count == 1 ? "rank" : "ranks")} {string.Join(", ", GlobalRanks)} (process '{ProcessId}' at {Endpoint})";
}
