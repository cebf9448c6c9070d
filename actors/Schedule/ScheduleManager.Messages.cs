using GppfActors.Actors.Messages;

namespace GppfActors.Actors.Schedule;

/// <summary>Ask for the learning rate and temperature of <paramref name="Step"/>.</summary>
public sealed record GetSchedule(long Step) : IGppfMessage;

/// <summary>Learning rate and Gumbel temperature of a step, and the schedule's state (it travels with the step, see <see cref="Coordinator.CoordinatorSnapshot"/>).</summary>
public sealed record ScheduleAt(long Step, double LearningRate, double Tau, string? StateJson = null) : IGppfMessage;

/// <summary>Run with a new base learning rate from <paramref name="FromStep"/> on.</summary>
public sealed record ChangeBaseLr(long FromStep, double BaseLr) : IGppfMessage;

/// <summary>The change was accepted.</summary>
public sealed record ScheduleChanged(long FromStep, double BaseLr) : IGppfMessage;

/// <summary>The change was refused (e.g. it reaches back before an earlier change).</summary>
public sealed record ScheduleChangeRejected(string Reason) : IGppfMessage;

/// <summary>Ask for the schedule state (for a checkpoint).</summary>
public sealed record GetScheduleState : IGppfMessage
{
    public static GetScheduleState Instance { get; } = new();
}

/// <summary>The schedule state JSON.</summary>
public sealed record ScheduleStateJson(string Json) : IGppfMessage;

/// <summary>Replace the schedule state (resume).</summary>
public sealed record RestoreScheduleState(string Json) : IGppfMessage;
