using System.Globalization;

namespace GppfActors.Model.Optim;

/// <summary>Typed, immutable optimizer section of the run config; the learning rate lives in the schedule, not here.</summary>
/// <param name="Kind">Update rule.</param>
/// <param name="Momentum">SGD momentum factor; ignored by AdamW.</param>
/// <param name="WeightDecay">Decay coefficient, applied only where <see cref="ParameterGroups.UsesWeightDecay"/> says so.</param>
/// <param name="Beta1">AdamW first-moment decay; ignored by SGD.</param>
/// <param name="Beta2">AdamW second-moment decay; ignored by SGD.</param>
/// <param name="Eps">AdamW denominator guard; ignored by SGD.</param>
public sealed record OptimizerConfig(
    OptimizerKind Kind,
    double Momentum = 0.9,
    double WeightDecay = 5e-4,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Eps = 1e-8)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the config key of the first invalid value.</summary>
    /// <remarks>
    /// Every key is checked whatever the kind, so a bad value in a preset is caught on the run that
    /// reads it rather than on the later run that switches optimizer.
    /// </remarks>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind))
        {
            throw Invalid("optimizer.kind", $"must be one of {string.Join(", ", Enum.GetNames<OptimizerKind>())}", Kind.ToString());
        }

        RequireUnitInterval("optimizer.momentum", Momentum);
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay)))
        {
            throw Invalid("optimizer.weight_decay", "must be finite and >= 0", Format(WeightDecay));
        }

        RequireUnitInterval("optimizer.beta1", Beta1);
        RequireUnitInterval("optimizer.beta2", Beta2);
        if (!(Eps > 0 && double.IsFinite(Eps)))
        {
            throw Invalid("optimizer.eps", "must be finite and > 0", Format(Eps));
        }
    }

    private static void RequireUnitInterval(string key, double value)
    {
        // Written as a negated range test so NaN is rejected too.
        if (!(value >= 0 && value < 1))
        {
            throw Invalid(key, "must be in [0, 1)", Format(value));
        }
    }

    private static ArgumentException Invalid(string key, string rule, string got) =>
        new($"{key} {rule}, got {got}");

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
