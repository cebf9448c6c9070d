using GppfActors.Actors.Sampling;

namespace GppfActors.Actors.Coordinator;

/// <summary>
/// How a coordinator that takes over a running job (the previous one's node was lost) continues:
/// from the devices' reports, the most advanced replica state any survivor holds and the
/// coordinator snapshot that goes with it. Pure, so its rules are tested without an ActorSystem.
/// </summary>
/// <remarks>
/// Replicas of one epoch hold the same bits after every step (steps that fail change nothing, and a
/// step that some rank completed was applied by every survivor), so the survivors with the highest
/// <see cref="DeviceReport.ReadyFor"/> hold the run's state; every other device is aligned from them.
/// The snapshot that describes that state is either the one sent with step <c>A</c> (the step in
/// flight, not applied: it is run again, so it is lost) or the one sent with step <c>A - 1</c> (the
/// step applied before the coordinator died: the sampler is moved past it by drawing it again for
/// the same world size, which is deterministic). When no survivor holds trained state, or no
/// snapshot fits it, the run falls back to its newest committed checkpoint.
/// </remarks>
public static class Takeover
{
    /// <summary>What the new coordinator starts from.</summary>
    /// <param name="Step">The next step to run (the steps every current replica has applied).</param>
    /// <param name="EpochFloor">The highest epoch any device or snapshot saw; the new coordinator's epochs start above it.</param>
    /// <param name="SamplerJson">The sampler state before <paramref name="Step"/>'s draw.</param>
    /// <param name="Schedule">The schedule state.</param>
    /// <param name="Current">The devices whose replica holds the state of <paramref name="Step"/>; the others must be aligned.</param>
    /// <param name="StepsLost">Steps the survivors had started but must run again (0 or 1).</param>
    public sealed record Plan<TDevice>(
        long Step,
        long EpochFloor,
        string SamplerJson,
        string Schedule,
        long LastCommittedStep,
        long NonFiniteTotal,
        int NonFiniteConsecutive,
        IReadOnlyList<TDevice> Current,
        int StepsLost);

    /// <summary>The outcome: continue from the devices, or fall back to the newest committed checkpoint.</summary>
    public abstract record Decision<TDevice>
    {
        public sealed record Continue(Plan<TDevice> Plan) : Decision<TDevice>;

        public sealed record FallBack(string Reason, long EpochFloor) : Decision<TDevice>;
    }

    /// <summary>
    /// Decides from <paramref name="reports"/>. <paramref name="sampler"/> is the job's sampler (its
    /// tasks, sizes and seed); when the state is past the snapshot's step, it is moved past that step
    /// here, so on return it holds the plan's state.
    /// </summary>
    public static Decision<TDevice> Resolve<TDevice>(IReadOnlyList<(TDevice Device, DeviceReport Report)> reports, TaskSamplerState sampler)
        where TDevice : notnull
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(sampler);
        long floor = reports.Select(r => Math.Max(r.Report.Epoch, r.Report.Last?.Epoch ?? -1)).DefaultIfEmpty(0).Max();
        floor = Math.Max(floor, 0);
        var holding = reports.Where(r => r.Report.ReadyFor is not null).ToList();
        if (holding.Count == 0)
        {
            return new Decision<TDevice>.FallBack(
                reports.Count == 0 ? "no device answered" : $"none of the {reports.Count} surviving device(s) holds trained state", floor);
        }
        long ready = holding.Max(r => r.Report.ReadyFor!.Value);
        var current = holding.Where(r => r.Report.ReadyFor == ready).ToList();
        var snapshots = reports.Select(r => r.Report.Last).OfType<CoordinatorSnapshot>().ToList();
        long newestStarted = snapshots.Select(s => s.Step).DefaultIfEmpty(ready - 1).Max();

        // The step in flight, not applied anywhere: its snapshot is the state before it.
        if (snapshots.FirstOrDefault(s => s.Step == ready) is { } inFlight)
        {
            sampler.LoadJson(inFlight.SamplerBefore);
            return new Decision<TDevice>.Continue(new Plan<TDevice>(ready, floor, inFlight.SamplerBefore, inFlight.Schedule, inFlight.LastCommittedStep,
                inFlight.NonFiniteTotal, inFlight.NonFiniteConsecutive, current.Select(r => r.Device).ToList(), StepsLost(newestStarted, ready)));
        }
        // The step before was applied: draw it again for its world size to move the sampler past it.
        if (snapshots.FirstOrDefault(s => s.Step == ready - 1) is { } applied)
        {
            sampler.LoadJson(applied.SamplerBefore);
            var tasks = sampler.DrawTasks(applied.Step, applied.WorldSize);
            sampler.TakeIndices(tasks);
            bool skipped = current.Any(r => r.Report.LastStepSkipped);
            return new Decision<TDevice>.Continue(new Plan<TDevice>(ready, floor, sampler.ToJson(), applied.Schedule, applied.LastCommittedStep,
                applied.NonFiniteTotal + (skipped ? 1 : 0), skipped ? applied.NonFiniteConsecutive + 1 : 0,
                current.Select(r => r.Device).ToList(), StepsLost(newestStarted, ready)));
        }
        return new Decision<TDevice>.FallBack(
            $"the surviving replicas are at step {ready}, but no device holds the coordinator's state for step {ready} or {ready - 1} (newest: {(snapshots.Count == 0 ? "none" : newestStarted)})",
            floor);
    }

    private static int StepsLost(long newestStarted, long ready) => (int)Math.Max(0, newestStarted + 1 - ready);
}
