using System.Globalization;

namespace GppfActors.Bench.Loader;

/// <summary>Command-line settings of the loader benchmark.</summary>
internal sealed record BenchOptions(string DataDir, int BatchSize, double SecondsPerRun)
{
    public const string Usage = "usage: GppfActors.Bench.Loader --data DIR [--batch 32] [--seconds 3]";

    public static BenchOptions Parse(string[] args)
    {
        string? data = null;
        int batch = 32;
        double seconds = 3;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--data":
                    data = Value();
                    break;
                case "--batch":
                    batch = int.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--seconds":
                    seconds = double.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new ArgumentException($"unknown argument {args[i]}");
            }
        }
        if (data is null)
        {
            throw new ArgumentException("--data is required (make one with: gppf synth --out DIR --seed 1)");
        }
        if (batch < 1 || seconds <= 0)
        {
            throw new ArgumentException("--batch and --seconds must be positive");
        }
        return new BenchOptions(data, batch, seconds);
    }
}
