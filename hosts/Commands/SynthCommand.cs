using System.CommandLine;
using System.Diagnostics;
using GppfActors.Tasks.Synthetic;

namespace GppfActors.Host.Commands;

/// <summary><c>gppf synth</c>: writes the synthetic multi-task, multi-domain data set used by tests, demos and benchmarks.</summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var outOption = new Option<string>("--out") { Description = "Output directory (created; an earlier synthetic data set there is replaced)", Required = true };
        var seedOption = new Option<long>("--seed") { Description = "Random seed; the same seed gives the same bytes", Required = true };
        var sizeOption = new Option<string>("--size") { Description = "small (400/200 images per task and split) or medium (4000/1000)", DefaultValueFactory = _ => "small" };
        sizeOption.AcceptOnlyFromAmong("small", "medium");

        var command = new Command("synth", "Generate the synthetic classification/detection/segmentation/depth data set") { outOption, seedOption, sizeOption };
        command.SetAction(parseResult =>
        {
            var options = new SynthOptions
            {
                Seed = parseResult.GetValue(seedOption),
                Size = parseResult.GetValue(sizeOption) == "medium" ? SynthSize.Medium : SynthSize.Small,
            };
            var root = parseResult.GetValue(outOption)!;
            var clock = Stopwatch.StartNew();
            SynthManifest manifest;
            try
            {
                manifest = SyntheticDatasetWriter.Write(root, options);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                Console.Error.WriteLine($"gppf synth: {e.Message}");
                return 1;
            }
            foreach (var task in manifest.Tasks)
            {
                Console.WriteLine($"{task.Name,-15} {task.ImageWidth}x{task.ImageHeight}  {string.Join("  ", task.Splits.Select(s => $"{s.Name} {s.Count}"))}");
            }
            Console.WriteLine($"wrote {Path.GetFullPath(root)} (seed {options.Seed}, {manifest.Size}, generator v{manifest.GeneratorVersion}) in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return command;
    }
}
