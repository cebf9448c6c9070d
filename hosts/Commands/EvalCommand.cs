using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Host.Evaluation;
using GppfActors.Model.Checkpoints;
using Spectre.Console;

namespace GppfActors.Host.Commands;

/// <summary>
/// <c>gppf eval</c>: every task's (or one task's) metrics on the whole of a split, each along its
/// arg-max path, from a checkpoint; printed as a table and optionally written as JSON.
/// </summary>
internal static class EvalCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static Command Create()
    {
        var path = new Argument<string>("checkpoint") { Description = "A checkpoint directory (step-N) or a run directory (its newest checkpoint is used)" };
        var task = new Option<string?>("--task") { Description = "Evaluate this task only (default: every task)" };
        var split = new Option<string>("--split") { Description = "The split to evaluate", DefaultValueFactory = _ => "val" };
        var json = new Option<string?>("--json") { Description = "Also write the results to this JSON file" };
        var batchSize = new Option<int?>("--batch-size") { Description = "Samples per forward (default: the task's batch size)" };
        var dataRoot = new Option<string?>("--data-root") { Description = "Where the task data lies (default: the run's data.root)" };
        var fixedPath = new Option<string?>("--path")
        {
            Description = "Evaluate along this path instead of each task's own: one unit per lego layer (01101 or 0,1,1,0,1), or a static backbone written by gppf export (its path)",
        };
        var command = new Command("eval", "Evaluate a checkpoint on the whole split, each task along its arg-max path") { path, task, split, json, batchSize, dataRoot, fixedPath };
        command.SetAction(parse =>
        {
            var console = AnsiConsole.Console;
            try
            {
                using var model = CheckpointModel.Open(parse.GetValue(path)!);
                var tasks = parse.GetValue(task) is { } only
                    ? [model.Job.Tasks.FirstOrDefault(t => t.Name == only) ?? throw new ArgumentException($"unknown task '{only}' (known: {string.Join(", ", model.Job.Tasks.Select(t => t.Name))})")]
                    : model.Job.Tasks;
                if (parse.GetValue(batchSize) is < 1)
                {
                    throw new ArgumentException("--batch-size must be >= 1");
                }
                string root = parse.GetValue(dataRoot) ?? model.Job.Data.Root;
                string splitName = parse.GetValue(split)!;
                var route = parse.GetValue(fixedPath) is { } given ? ParsePath(given) : null;
                var results = tasks.Select(t => SplitEvaluation.Run(model.Network, t, root, splitName, parse.GetValue(batchSize) ?? t.BatchSize, route)).ToList();

                var table = new Table().Border(TableBorder.Rounded)
                    .Title($"metrics on the whole {Markup.Escape(splitName)} split, step {model.Step} ({Markup.Escape(model.Directory)})");
                table.AddColumn("task");
                table.AddColumn("family");
                table.AddColumn(new TableColumn("samples").RightAligned());
                table.AddColumn("path");
                table.AddColumn("metrics");
                foreach (var r in results)
                {
                    string metrics = string.Join("  ", r.Metrics.Select(m => $"{m.Key} {m.Value.ToString("0.####", CultureInfo.InvariantCulture)}"));
                    table.AddRow(Markup.Escape(r.Task), r.Family.ToString(), r.NumSamples.ToString(CultureInfo.InvariantCulture), string.Concat(r.Path), Markup.Escape(metrics));
                }
                console.Write(table);

                if (parse.GetValue(json) is { } file)
                {
                    var report = new EvalReport(Path.GetFullPath(model.Directory), model.Step, model.Job.Name, splitName,
                        results.ToDictionary(r => r.Task, r => new EvalTaskReport(r.Family, r.NumSamples, string.Concat(r.Path), r.Metrics)));
                    File.WriteAllText(file, JsonSerializer.Serialize(report, JsonOptions));
                    console.MarkupLine(Markup.Escape($"wrote {file}"));
                }
                return 0;
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException or UnauthorizedAccessException)
            {
                console.MarkupLine($"[red]gppf eval:[/] {Markup.Escape(e.Message)}");
                return 2;
            }
        });
        return command;
    }

    // "01101" (one digit per layer), "0,1,1,0,1", or a gppf export file, whose metadata names the
    // path it was cut along (its weights are the checkpoint's along that path); the network checks
    // the length and range.
    private static int[] ParsePath(string text)
    {
        if (text.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            var metadata = SafeTensorsFile.ReadHeader(text).Metadata;
            return metadata.TryGetValue("format", out var format) && format == "gppf-static-backbone" && metadata.TryGetValue("path", out var exported)
                ? ParsePath(exported)
                : throw new InvalidDataException($"{text}: not a static backbone written by gppf export (no path in its metadata)");
        }
        var parts = text.Contains(',', StringComparison.Ordinal) ? text.Split(',') : text.Select(c => c.ToString()).ToArray();
        return parts.Select(p => int.TryParse(p.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            ? k
            : throw new ArgumentException($"--path: '{text}' is not a list of unit indices (e.g. 01101 or 0,1,1,0,1)")).ToArray();
    }
}
