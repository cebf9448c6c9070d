namespace GppfActors.Bench.Recovery;

/// <summary>
/// One kill and its recovery, every time in seconds after the kill, as the surviving side saw it:
/// the first survivor's failure detector, the coordinator's node (detection, downing), the split-brain
/// resolver's downing (first seen anywhere, which is on the cluster leader), the coordinator's new
/// epoch (formed when its node sees the Down; the removal that follows is not waited for), the last replica aligned, and the first applied step of the new epoch. Besides: how long
/// the cluster took to form and warm up, the machine's load average at the kill, and the cores this
/// process used from the kill to the applied step (all nodes share this machine's cores).
/// </summary>
internal sealed record TrialResult(
    int Nodes,
    int Trial,
    string Victim,
    double KillOffsetMs,
    double FirstDetected,
    double Detected,
    double AllDetected,
    double Downed,
    double AllDowned,
    double DownedAtCoordinator,
    double NewEpoch,
    double Aligned,
    double Applied)
{
    public double StartSeconds { get; init; }

    public double LoadAverage { get; init; }

    public double CpuCores { get; init; }

    /// <summary>
    /// Other nodes the coordinator's node saw unreachable or reachable again between the kill and the
    /// applied step (false suspicions on a loaded machine): each restarts the split-brain resolver's
    /// stable-after wait.
    /// </summary>
    public int OtherReachabilityChanges { get; init; }

    /// <summary>Nodes whose failure detector watched the killed node (at most <c>monitored-by-nr-of-members</c>, 9).</summary>
    public int NumMonitors { get; init; }

    /// <summary>Median over those nodes of the standard deviation of the heartbeat intervals they had seen (ms).</summary>
    public double HeartbeatStdMs { get; init; } = double.NaN;

    /// <summary>Median over those nodes of the silence after which phi reaches 8 (s): the failure detector's own part of detection.</summary>
    public double SuspicionSeconds { get; init; } = double.NaN;

    /// <summary>The parts of the recovery, in order; they add up to <see cref="Applied"/>.</summary>
    public static IReadOnlyList<string> PartNames { get; } =
        ["detection", "split-brain resolver (stable-after)", "Down reaching the coordinator's node", "new epoch", "alignment", "first step"];

    /// <summary>kill -> unreachable at the coordinator's node -> downed -> downed as the coordinator's node sees it -> new epoch -> aligned -> first applied step.</summary>
    public double[] Parts => [Detected, Downed - Detected, DownedAtCoordinator - Downed, NewEpoch - DownedAtCoordinator, Aligned - NewEpoch, Applied - Aligned];

    /// <summary>Reads the trial's timeline; the error says which step of the recovery is missing.</summary>
    public static TrialResult From(IReadOnlyList<Mark> marks, int nodes, int trial, long killedAt, double killOffsetMs, string victim, int victimIndex, int coordinatorNode,
        int worldAfter)
    {
        var after = marks.Where(m => m.Ticks >= killedAt).ToList();
        var aboutVictim = after.Where(m => m.Subject == victim && m.Node != victimIndex).ToList();
        var unreachable = aboutVictim.Where(m => m.Kind == MarkKind.Unreachable).ToList();
        var epoch = after.FirstOrDefault(m => m.Kind == MarkKind.EpochFormed && m.WorldSize == worldAfter)
            ?? throw new InvalidOperationException($"{nodes} nodes, trial {trial}: no epoch of {worldAfter} device(s) after the kill");
        double Since(long ticks) => Timeline.Seconds(killedAt, ticks);
        double First(IEnumerable<Mark> found, string what) => Since((found.MinBy(m => m.Ticks)
            ?? throw new InvalidOperationException($"{nodes} nodes, trial {trial}: no {what} after the kill")).Ticks);
        var downed = aboutVictim.Where(m => m.Kind == MarkKind.Downed).ToList();
        // When the last survivor saw it (NaN if one never did before the trial ended).
        double Everywhere(IEnumerable<Mark> seen)
        {
            var firstPerSurvivor = seen.GroupBy(m => m.Node).Select(g => g.Min(m => m.Ticks)).ToList();
            return firstPerSurvivor.Count == nodes - 1 ? Since(firstPerSurvivor.Max()) : double.NaN;
        }
        return new TrialResult(
            nodes,
            trial,
            victim,
            killOffsetMs,
            First(unreachable, "unreachable"),
            First(unreachable.Where(m => m.Node == coordinatorNode), "unreachable at the coordinator's node"),
            Everywhere(unreachable),
            First(downed, "downing"),
            Everywhere(downed),
            First(downed.Where(m => m.Node == coordinatorNode), "downing seen at the coordinator's node"),
            Since(epoch.Ticks),
            Since(after.Where(m => m.Kind == MarkKind.Aligned && m.Epoch == epoch.Epoch).Select(m => m.Ticks).DefaultIfEmpty(epoch.Ticks).Max()),
            First(after.Where(m => m.Kind == MarkKind.StepApplied && m.Epoch == epoch.Epoch), "applied step of the new epoch"));
    }
}
