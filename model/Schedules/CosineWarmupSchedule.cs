using System.Globalization;

namespace GppfActors.Model.Schedules;

/// <summary>Learning rate as a pure function of the step: linear warmup to <see cref="BaseLr"/>, then cosine decay to <see cref="MinLr"/> at <see cref="TotalSteps"/>.</summary>
/// <remarks>
/// Warmup (step &lt; WarmupSteps): BaseLr * (step + 1) / WarmupSteps, so step 0 already trains and the
/// last warmup step reaches BaseLr. After: MinLr + 0.5 * (BaseLr - MinLr) * (1 + cos(pi * (step - WarmupSteps)
/// / (TotalSteps - WarmupSteps))), with step clamped at TotalSteps so a run that goes past its plan
/// stays at MinLr instead of climbing back up the cosine. Being a pure function of the step, a
/// resumed run needs no scheduler state in its checkpoint. Call <see cref="Validate"/> once first.
/// </remarks>
public sealed record CosineWarmupSchedule(double BaseLr, long WarmupSteps, long TotalSteps, double MinLr = 0)
{
    /// <summary>The learning rate for zero-based optimizer step <paramref name="step"/>.</summary>
    public double At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps)
        {
            return BaseLr * (step + 1) / WarmupSteps;
        }

        var clamped = Math.Min(step, TotalSteps);
        var progress = (double)(clamped - WarmupSteps) / (TotalSteps - WarmupSteps);
        return MinLr + (0.5 * (BaseLr - MinLr) * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (!(BaseLr > 0 && double.IsFinite(BaseLr)))
        {
            throw Invalid("lr_schedule.base_lr must be finite and > 0", BaseLr);
        }

        if (!(MinLr >= 0 && MinLr <= BaseLr))
        {
            throw Invalid($"lr_schedule.min_lr must be in [0, base_lr = {Format(BaseLr)}]", MinLr);
        }

        if (WarmupSteps < 0)
        {
            throw Invalid("lr_schedule.warmup_steps must be >= 0", WarmupSteps);
        }

        // The cosine phase divides by its length, so it must have at least one step.
        if (TotalSteps <= WarmupSteps)
        {
            throw Invalid($"lr_schedule.total_steps must be > warmup_steps = {WarmupSteps}", TotalSteps);
        }
    }

    private static ArgumentException Invalid(string rule, double got) => new($"{rule}, got {Format(got)}");

    private static ArgumentException Invalid(string rule, long got) => new($"{rule}, got {got}");

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
