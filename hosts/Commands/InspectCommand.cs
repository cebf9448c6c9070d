using System.CommandLine;
using System.Globalization;
using GppfActors.ClusterConfig.Workloads;
using Spectre.Console;

namespace GppfActors.Host.Commands;

/// <summary><c>gppf inspect</c>: what a checkpoint holds: step, job, and every task's learned path with its selection probabilities.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("checkpoint") { Description = "A checkpoint directory (step-N) or a run directory (its newest checkpoint is used)" };
        var command = new Command("inspect", "Show a checkpoint's step, job and each task's path through the lego layers") { path };
        command.SetAction(parse =>
        {
            var console = AnsiConsole.Console;
            try
            {
                using var model = CheckpointModel.Open(parse.GetValue(path)!);
                console.MarkupLine($"checkpoint [bold]{Markup.Escape(model.Directory)}[/]: step {model.Step}, job '{Markup.Escape(model.Job.Name)}', " +
                    $"backbone {model.Job.Backbone.Preset} with {model.Job.Backbone.NumUnits} units in each of {model.Network.Backbone.NumLayers} lego layers");
                var table = new Table().Border(TableBorder.Simple);
                table.AddColumn("task");
                table.AddColumn("family");
                table.AddColumn("path");
                table.AddColumn("selection probability of the chosen unit, per layer");
                foreach (var task in model.Job.Tasks)
                {
                    var controller = model.Network.Controller(task.Name);
                    using var p = controller.Probabilities();                              // [L, N]
                    var path = controller.ArgMaxPath();
                    string probabilities = string.Join(" ", path.Select((k, l) => p[l, k].item<float>().ToString("0.00", CultureInfo.InvariantCulture)));
                    table.AddRow(Markup.Escape(task.Name), task.Family.ToString(), string.Concat(path), probabilities);
                }
                console.Write(table);
                return 0;
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException)
            {
                console.MarkupLine($"[red]gppf inspect:[/] {Markup.Escape(e.Message)}");
                return 2;
            }
        });
        return command;
    }
}
