using System.Globalization;

namespace GppfActors.Tasks.Definitions;

/// <summary>Shared checks for the task config records: each failure names the config key, the rule and the value it got.</summary>
internal static class ConfigCheck
{
    /// <summary>Throws <see cref="ArgumentException"/> with "{key} {rule}, got {value}" unless <paramref name="ok"/>.</summary>
    public static void Require(bool ok, string key, string rule, object got)
    {
        if (!ok)
        {
            throw new ArgumentException($"{key} {rule}, got {Format(got)}");
        }
    }

    /// <summary>A finite value in [low, high] (written as a negated range test so NaN fails too).</summary>
    public static void InRange(double value, double low, double high, string key) =>
        Require(value >= low && value <= high, key, $"must be in [{Format(low)}, {Format(high)}]", value);

    /// <summary>A finite value strictly above <paramref name="low"/>.</summary>
    public static void Above(double value, double low, string key) =>
        Require(value > low && double.IsFinite(value), key, $"must be finite and > {Format(low)}", value);

    /// <summary>An integer of at least <paramref name="low"/>.</summary>
    public static void AtLeast(int value, int low, string key) =>
        Require(value >= low, key, $"must be >= {low}", value);

    private static string Format(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };
}
