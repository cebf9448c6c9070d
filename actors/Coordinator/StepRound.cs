using GppfActors.Actors.Devices;

namespace GppfActors.Actors.Coordinator;

/// <summary>
/// Pure bookkeeping of one step in flight: which ranks completed, failed in a collective, or
/// restarted, and what that means. Once every rank has answered: all completed means the step is
/// done; otherwise the step counts as applied when some rank completed it (the last collective
/// releases every member together, so then every survivor applied it) and as discarded when none did.
/// </summary>
public sealed class StepRound(long step, int worldSize)
{
    private readonly StepCompleted?[] completed = new StepCompleted?[worldSize];
    private readonly bool[] failed = new bool[worldSize];

    public long Step { get; } = step;

    public int WorldSize { get; } = worldSize;

    public IEnumerable<StepCompleted> Completed => completed.OfType<StepCompleted>();

    public bool AllAnswered => Enumerable.Range(0, WorldSize).All(r => completed[r] is not null || failed[r]);

    public bool AllCompleted => completed.All(c => c is not null);

    /// <summary>True when at least one rank applied the step's update.</summary>
    public bool Applied => completed.Any(c => c is not null);

    public void Complete(StepCompleted message) => completed[message.Rank] = message;

    /// <summary>Marks a rank that failed in a collective, or whose device restarted, as answered.</summary>
    public void Fail(int rank) => failed[rank] = true;

    /// <summary>Ranks that did not complete.</summary>
    public IEnumerable<int> FailedRanks => Enumerable.Range(0, WorldSize).Where(r => completed[r] is null);
}
