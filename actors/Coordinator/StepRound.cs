using GppfActors.Actors.Devices;

namespace GppfActors.Actors.Coordinator;

/// <summary>
/// Pure bookkeeping of one step in flight: which ranks completed, failed (and how), or stayed
/// silent, and what that means. Once every rank has answered: all completed means the step is
/// done; otherwise the step counts as applied when some rank completed it (the last collective
/// releases every member together, so then every survivor applied it) and as discarded when none
/// did. A completed step whose non-finite flag was raised was skipped on every replica.
/// </summary>
public sealed class StepRound(long step, int worldSize, double startedAt = 0, double timeoutSeconds = double.PositiveInfinity)
{
    private readonly StepCompleted?[] completed = new StepCompleted?[worldSize];
    private readonly StepFailed?[] failed = new StepFailed?[worldSize];
    private readonly bool[] lost = new bool[worldSize];

    public long Step { get; } = step;

    public int WorldSize { get; } = worldSize;

    /// <summary>When the step's deadline passes (monotonic seconds).</summary>
    public double Deadline { get; } = startedAt + timeoutSeconds;

    public IEnumerable<StepCompleted> Completed => completed.OfType<StepCompleted>();

    /// <summary>The failure reports received (a lost rank has none).</summary>
    public IEnumerable<StepFailed> Failures => failed.OfType<StepFailed>();

    public bool AllAnswered => Enumerable.Range(0, WorldSize).All(r => completed[r] is not null || failed[r] is not null || lost[r]);

    public bool AllCompleted => completed.All(c => c is not null);

    /// <summary>True when at least one rank finished the step's last collective.</summary>
    public bool Applied => completed.Any(c => c is not null);

    /// <summary>True when the step finished but its update was skipped everywhere (non-finite values).</summary>
    public bool SkippedAsNonFinite => Completed.Any(c => !c.Applied);

    /// <summary>True when a rank reported bad data: repeating the step would read the same samples.</summary>
    public bool DataFailed => Failures.Any(f => f.Kind == StepFailureKind.Data);

    public void Complete(StepCompleted message) => completed[message.Rank] = message;

    /// <summary>A rank reported that it could not finish.</summary>
    public void Fail(StepFailed message) => failed[message.Rank] = message;

    /// <summary>A rank's device restarted, stopped or stayed silent: it will not answer.</summary>
    public void Lose(int rank) => lost[rank] = true;

    /// <summary>Ranks that have not answered at all.</summary>
    public IEnumerable<int> Silent => Enumerable.Range(0, WorldSize).Where(r => completed[r] is null && failed[r] is null && !lost[r]);

    /// <summary>Ranks that did not complete.</summary>
    public IEnumerable<int> FailedRanks => Enumerable.Range(0, WorldSize).Where(r => completed[r] is null);

    /// <summary>One line on why the step did not complete everywhere.</summary>
    public string FailureSummary()
    {
        var reasons = Failures.Where(f => f.Kind == StepFailureKind.Data).Concat(Failures).Select(f => $"rank {f.Rank}: {f.Reason}").Distinct().Take(2).ToList();
        return reasons.Count == 0 ? "no rank reported a reason" : string.Join("; ", reasons);
    }
}
