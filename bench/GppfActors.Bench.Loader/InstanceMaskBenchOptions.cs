using System.Globalization;

namespace GppfActors.Bench.Loader;

/// <summary>Command-line settings of the instance-mask benchmark (<c>--instance-masks</c>).</summary>
internal sealed record InstanceMaskBenchOptions(int BatchSize, int InstancesPerImage, int OutputSize, int Repeats)
{
    public const string Usage = "usage: GppfActors.Bench.Loader --instance-masks [--batch 8] [--instances 300] [--output 1024] [--repeats 3]";

    public static InstanceMaskBenchOptions Parse(string[] args)
    {
        int batch = 8, instances = 300, output = 1024, repeats = 3;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--instance-masks":
                    break;
                case "--batch":
                    batch = int.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--instances":
                    instances = int.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--output":
                    output = int.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--repeats":
                    repeats = int.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new ArgumentException($"unknown argument {args[i]}");
            }
        }
        if (batch < 1 || instances < 1 || output < 1 || repeats < 1)
        {
            throw new ArgumentException("--batch, --instances, --output and --repeats must be positive");
        }
        return new InstanceMaskBenchOptions(batch, instances, output, repeats);
    }
}
