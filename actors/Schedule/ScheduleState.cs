using System.Text.Json;
using GppfActors.Model.Schedules;

namespace GppfActors.Actors.Schedule;

/// <summary>
/// Pure state of the schedule manager: the learning-rate schedule (linear warm-up, cosine decay)
/// and the Gumbel temperature schedule as functions of the step, plus the changes applied while
/// running (a new base LR from a given step on). Saved in every checkpoint as JSON.
/// </summary>
public sealed class ScheduleState
{
    private readonly List<LrChange> changes = [];

    public ScheduleState(CosineWarmupSchedule learningRate, TemperatureSchedule temperature)
    {
        learningRate.Validate();
        temperature.Validate();
        LearningRate = learningRate;
        Temperature = temperature;
    }

    /// <summary>The configured LR schedule.</summary>
    public CosineWarmupSchedule LearningRate { get; }

    /// <summary>The Gumbel temperature schedule.</summary>
    public TemperatureSchedule Temperature { get; }

    /// <summary>Changes in the order they were accepted.</summary>
    public IReadOnlyList<LrChange> Changes => changes;

    /// <summary>Learning rate of <paramref name="step"/>: the schedule, scaled by the last change in force.</summary>
    public double LrAt(long step)
    {
        double scale = 1.0;
        foreach (var c in changes)
        {
            if (c.FromStep <= step)
            {
                scale = c.BaseLr / LearningRate.BaseLr;
            }
        }
        return LearningRate.At(step) * scale;
    }

    /// <summary>Gumbel temperature of <paramref name="step"/>.</summary>
    public double TauAt(long step) => Temperature.At(step);

    /// <summary>Accepts a new base LR from <paramref name="change"/>.FromStep on; later steps only.</summary>
    public void Apply(LrChange change)
    {
        if (!(change.BaseLr > 0) || double.IsInfinity(change.BaseLr))
        {
            throw new ArgumentException($"schedule change: base LR must be > 0, got {change.BaseLr}");
        }
        if (changes.Count > 0 && change.FromStep < changes[^1].FromStep)
        {
            throw new ArgumentException($"schedule change: from step {change.FromStep} is before the last change (step {changes[^1].FromStep})");
        }
        changes.Add(change);
    }

    public string ToJson() => JsonSerializer.Serialize(changes);

    public void LoadJson(string json)
    {
        var saved = JsonSerializer.Deserialize<List<LrChange>>(json) ?? [];
        changes.Clear();
        foreach (var c in saved)
        {
            Apply(c);
        }
    }
}

/// <summary>From <see cref="FromStep"/> on, the LR schedule runs with base LR <see cref="BaseLr"/>.</summary>
public sealed record LrChange(long FromStep, double BaseLr);
