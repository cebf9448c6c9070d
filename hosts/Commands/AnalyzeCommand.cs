using System.CommandLine;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Host.Analysis;
using GppfActors.Host.Training;
using Spectre.Console;

namespace GppfActors.Host.Commands;

/// <summary>
/// <c>gppf analyze</c>: the paper's analysis figures of a run, as PNG plus the numbers as CSV: the
/// lego selection of every task (Figures 3, 10), the selection learning curves from the run's
/// routing record (Figure 11), and layer x layer CKA along each task's path on a probe set of its
/// held-out data (appendix A), side by side with a second model when one is given.
/// </summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("run") { Description = "A run directory (its newest checkpoint is used) or a checkpoint directory (step-N)" };
        var output = new Option<string>("--out") { Description = "The folder to write the figures (PNG) and numbers (CSV) into", Required = true };
        var task = new Option<string[]>("--task") { Description = "Tasks to compute CKA for (default: every task)", AllowMultipleArgumentsPerToken = true };
        var compare = new Option<string?>("--compare") { Description = "A second run or checkpoint whose CKA is shown beside this one's (e.g. a single-task model)" };
        var probeBatches = new Option<int>("--probe-batches") { Description = "Batches of the probe set", DefaultValueFactory = _ => 4 };
        var probeBatchSize = new Option<int>("--probe-batch-size") { Description = "Examples per probe batch (at least 4: the unbiased HSIC needs them)", DefaultValueFactory = _ => 16 };
        var split = new Option<string>("--split") { Description = "The split the probe set is taken from", DefaultValueFactory = _ => "val" };
        var dataRoot = new Option<string?>("--data-root") { Description = "Where the task data lies (default: the run's data.root)" };
        var command = new Command("analyze", "Write the lego selection, selection learning curves and CKA figures of a run (PNG and CSV)")
        {
            path, output, task, compare, probeBatches, probeBatchSize, split, dataRoot,
        };
        command.SetAction(parse =>
        {
            var console = AnsiConsole.Console;
            try
            {
                if (parse.GetValue(probeBatchSize) < 4 || parse.GetValue(probeBatches) < 1)
                {
                    throw new ArgumentException("--probe-batch-size must be >= 4 and --probe-batches >= 1");
                }
                string dir = parse.GetValue(output)!;
                Directory.CreateDirectory(dir);
                using var model = CheckpointModel.Open(parse.GetValue(path)!);
                using var other = parse.GetValue(compare) is { } second ? CheckpointModel.Open(second) : null;
                console.MarkupLine(Markup.Escape($"checkpoint {model.Directory}: step {model.Step}, job '{model.Job.Name}'"));

                var selection = LegoSelection.Of(model.Network);
                Write(console, Path.Combine(dir, "lego-selection.csv"), selection.WriteCsv);
                Write(console, Path.Combine(dir, "lego-selection.png"),
                    f => AnalysisPlots.LegoSelection(selection, $"lego selection at step {model.Step} ({model.Job.Name})", f));

                string run = Path.GetDirectoryName(Path.GetFullPath(model.Directory))!;
                if (SelectionHistory.Read(run) is { } history)
                {
                    Write(console, Path.Combine(dir, "selection-curves.csv"), f => File.Copy(Path.Combine(run, RoutingRecord.FileName), f, overwrite: true));
                    foreach (var (name, curves) in history.Tasks)
                    {
                        Write(console, Path.Combine(dir, $"selection-curves-{name}.png"), f => AnalysisPlots.SelectionCurves(curves, name, f));
                    }
                }
                else
                {
                    console.MarkupLine(Markup.Escape($"no selection learning curves: {run} has no {RoutingRecord.FileName} (runs record it from this version on)"));
                }

                var tasks = parse.GetValue(task) is { Length: > 0 } named ? named : model.Network.TaskNames.ToArray();
                foreach (var name in tasks)
                {
                    var definition = model.Job.Tasks.FirstOrDefault(t => t.Name == name)
                        ?? throw new ArgumentException($"unknown task '{name}' (known: {string.Join(", ", model.Network.TaskNames)})");
                    var result = CkaProbe.Run(definition, parse.GetValue(dataRoot) ?? model.Job.Data.Root, parse.GetValue(split)!,
                        parse.GetValue(probeBatches), parse.GetValue(probeBatchSize), model.Network, other?.Network);
                    string first = $"step {model.Step}";
                    string csv = Path.Combine(dir, $"cka-{name}.csv");
                    string png = Path.Combine(dir, $"cka-{name}.png");
                    string title = $"linear CKA along the path of {name} ({result.NumExamples} probe examples)";
                    if (other is null)
                    {
                        Write(console, csv, f => result.WriteCsv(f, "model", "model"));
                        Write(console, png, f => AnalysisPlots.Cka([(first, result.Values)], title, f));
                    }
                    else
                    {
                        int a = result.NumFirstLayers, b = result.NumLayers - a;
                        Write(console, csv, f => result.WriteCsv(f, "model", "compare"));
                        Write(console, png, f => AnalysisPlots.Cka(
                        [
                            ($"this run, {first}", result.Block(0, a, 0, a)),
                            ($"compared, step {other.Step}", result.Block(a, b, a, b)),
                            ("this (rows) vs compared", result.Block(0, a, a, b)),
                        ], title, f));
                    }
                }
                return 0;
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException or UnauthorizedAccessException)
            {
                console.MarkupLine($"[red]gppf analyze:[/] {Markup.Escape(e.Message)}");
                return 2;
            }
        });
        return command;
    }

    private static void Write(IAnsiConsole console, string file, Action<string> write)
    {
        write(file);
        console.MarkupLine(Markup.Escape($"wrote {file}"));
    }
}
