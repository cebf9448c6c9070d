using System.Globalization;

namespace GppfActors.Model.Schedules;

/// <summary>Gumbel-softmax temperature as a pure function of the step: linear from <see cref="Tau0"/> at step 0 to <see cref="TauMin"/> at <see cref="DecaySteps"/>, constant after.</summary>
/// <remarks>
/// A high early temperature keeps the controllers exploring every path; annealing towards
/// <see cref="TauMin"/> makes the relaxed samples nearly one-hot so training ends on the discrete
/// choice used at inference. Call <see cref="Validate"/> once first.
/// </remarks>
public sealed record TemperatureSchedule(double Tau0, double TauMin, long DecaySteps)
{
    /// <summary>The paper's schedule: 5.0 annealed to 0.01 over 450,000 steps.</summary>
    public static TemperatureSchedule Paper { get; } = new(5.0, 0.01, 450_000);

    /// <summary>The temperature for zero-based step <paramref name="step"/>.</summary>
    public double At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step >= DecaySteps)
        {
            return TauMin;
        }

        // Written as a weighted mean rather than Tau0 + (TauMin - Tau0) * f so both ends are exact.
        var f = (double)step / DecaySteps;
        return ((1 - f) * Tau0) + (f * TauMin);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        // Gumbel-softmax divides the logits by tau, so both ends must be strictly positive.
        if (!(Tau0 > 0 && double.IsFinite(Tau0)))
        {
            throw Invalid("temperature.tau0 must be finite and > 0", Format(Tau0));
        }

        if (!(TauMin > 0 && TauMin <= Tau0))
        {
            throw Invalid($"temperature.tau_min must be in (0, tau0 = {Format(Tau0)}]", Format(TauMin));
        }

        if (DecaySteps <= 0)
        {
            throw Invalid("temperature.decay_steps must be > 0", DecaySteps.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static ArgumentException Invalid(string rule, string got) => new($"{rule}, got {got}");

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
