using System.CommandLine;
using System.Globalization;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Model.Checkpoints;
using Spectre.Console;

namespace GppfActors.Host.Commands;

/// <summary>
/// <c>gppf export</c>: extracts one task's arg-max path from a checkpoint into a plain static backbone
/// with torchvision's state keys, written as safetensors (a ResNet loads into torchvision's ResNet
/// without its fc; a Swin into torchvision's swin_t without its head once its extra stage norms
/// norm0..norm2 are dropped), the starting point of fixed-path fine-tuning.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("checkpoint") { Description = "A checkpoint directory (step-N) or a run directory (its newest checkpoint is used)" };
        var task = new Option<string>("--task") { Description = "The task whose path to extract", Required = true };
        var output = new Option<string>("--out") { Description = "The .safetensors file to write", Required = true };
        var command = new Command("export", "Extract a task's path into a static backbone (safetensors, torchvision keys)") { path, task, output };
        command.SetAction(parse =>
        {
            var console = AnsiConsole.Console;
            try
            {
                using var model = CheckpointModel.Open(parse.GetValue(path)!);
                string name = parse.GetValue(task)!;
                var route = model.Network.Controller(name).ArgMaxPath();
                using var backbone = model.Network.ExtractPath(route);
                string file = parse.GetValue(output)!;
                StateDicts.Save(backbone, file, new Dictionary<string, string>
                {
                    ["format"] = "gppf-static-backbone",
                    ["task"] = name,
                    ["path"] = string.Join(",", route),
                    ["backbone"] = model.Job.Backbone.Preset,
                    ["step"] = model.Step.ToString(CultureInfo.InvariantCulture),
                });
                console.MarkupLine($"wrote {Markup.Escape(file)}: task {Markup.Escape(name)}, path {string.Concat(route)}, " +
                    $"{backbone.parameters().Sum(p => p.numel()):N0} parameters, step {model.Step}");
                return 0;
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException)
            {
                console.MarkupLine($"[red]gppf export:[/] {Markup.Escape(e.Message)}");
                return 2;
            }
        });
        return command;
    }
}
