using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Host.Logging;
using GppfActors.Model.Checkpoints;
using Serilog.Events;
using Spectre.Console;

namespace GppfActors.Host.Commands;

/// <summary>
/// <c>gppf finetune</c>: a training job whose weights start from a pre-trained checkpoint (paper
/// section 3.3), run by the same actors, checkpoints, resume and progress as <c>train</c>. The
/// options become the job's <c>init</c> section and backbone:
/// <list type="bullet">
/// <item><c>--mode fixed</c> (default): a static backbone taking one path of the pre-trained
/// dynamic backbone (<c>--path-from TASK</c>, or <c>--path 0,1,...</c>);</item>
/// <item><c>--mode dynamic</c>: the dynamic backbone with the job's tasks added (uniform
/// controllers, new heads), paths learned with Gumbel routing; the learned arg-max paths are
/// reported at the end and written to <c>paths.json</c> in the run folder;</item>
/// <item><c>--retrain</c>: <c>--from</c> names a dynamic fine-tuning run; the path it learned is
/// fine-tuned as a fixed path from the weights that run started from (the paper's "retrain").</item>
/// </list>
/// </summary>
internal static class FinetuneCommand
{
    /// <summary>The file a dynamic fine-tuning run's learned paths are written to, in its run folder.</summary>
    public const string PathsFile = "paths.json";

    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "The pre-trained checkpoint (step-N folder) or run folder (its newest checkpoint)", Required = true };
        var mode = new Option<string>("--mode") { Description = "fixed: fine-tune one path as a static network; dynamic: learn the new tasks' paths", DefaultValueFactory = _ => InitSection.FixedMode };
        mode.AcceptOnlyFromAmong(InitSection.FixedMode, InitSection.DynamicMode);
        var pathFrom = new Option<string?>("--path-from") { Description = "Fixed mode: the task of the checkpoint whose arg-max path is fine-tuned (e.g. coco)" };
        var path = new Option<string?>("--path") { Description = "Fixed mode: the unit of each lego layer, e.g. 0,1,1,0,..." };
        var retrain = new Option<bool>("--retrain") { Description = "--from is a dynamic fine-tuning run: fine-tune the path it learned (for --path-from, or the job's only task) from the weights it started from" };
        var freeze = new Option<int>("--freeze-layers") { Description = "Keep the first K lego layers (the stem first) at their pre-trained weights", DefaultValueFactory = _ => 0 };
        var extension = new TrainCommand.RunExtension(
            [from, mode, pathFrom, path, retrain, freeze],
            (parse, jobName, sets) => Overrides(parse.GetValue(from)!, parse.GetValue(mode)!, parse.GetValue(pathFrom), parse.GetValue(path), parse.GetValue(retrain),
                parse.GetValue(freeze), () => JobTaskNames(jobName, sets)),
            ReportPaths);
        return TrainCommand.Create("finetune", "Fine-tune a pre-trained checkpoint on the job's tasks: along a fixed path, or dynamically", extension);
    }

    // The tasks of the job as the user gave it (--job and --set), for --retrain's default task.
    private static IReadOnlyList<string> JobTaskNames(string jobName, string[] sets) =>
        JobConfigLoader.Load(jobName, sets).Job.Tasks.Select(t => t.Name).ToArray();

    /// <summary>The job settings a fine-tuning command line stands for; <see cref="ArgumentException"/> names the option at fault.</summary>
    internal static string[] Overrides(string from, string mode, string? pathFrom, string? path, bool retrain, int freezeLayers, Func<IReadOnlyList<string>> jobTasks)
    {
        if (pathFrom is not null && path is not null)
        {
            throw new ArgumentException("--path-from and --path both name a path; give one");
        }
        if (mode == InitSection.DynamicMode && (pathFrom is not null || path is not null || retrain))
        {
            throw new ArgumentException("--path-from, --path and --retrain are for fixed-path fine-tuning (--mode fixed); dynamic fine-tuning learns its paths");
        }
        using var source = Open(from, "--from");
        var common = new[]
        {
            $"backbone.preset={source.Job.Backbone.Preset}",
            $"init.freeze_layers={freezeLayers.ToString(CultureInfo.InvariantCulture)}",
        };
        if (mode == InitSection.DynamicMode)
        {
            return [.. common, $"init.checkpoint={source.Directory}", $"init.mode={InitSection.DynamicMode}",
                $"backbone.num_units={source.Job.Backbone.NumUnits.ToString(CultureInfo.InvariantCulture)}"];
        }
        string[] fixedPath = [$"init.mode={InitSection.FixedMode}", "backbone.num_units=1"];
        if (!retrain)
        {
            if (pathFrom is null && path is null)
            {
                throw new ArgumentException($"fixed-path fine-tuning needs a path: --path-from TASK (tasks of {source.Directory}: {string.Join(", ", source.Network.TaskNames)}) or --path");
            }
            return [.. common, .. fixedPath, $"init.checkpoint={source.Directory}",
                pathFrom is not null ? $"init.path_from={pathFrom}" : $"init.path=[{ParsePath(path!)}]"];
        }
        if (path is not null)
        {
            throw new ArgumentException("--retrain takes the path the --from run learned; --path names another");
        }
        if (source.Job.Init is not { FromCheckpoint: true, Mode: InitSection.DynamicMode } init)
        {
            throw new ArgumentException($"--retrain: --from {source.Directory} is not a dynamic fine-tuning run (its job has no init.mode = dynamic from a checkpoint)");
        }
        var tasks = pathFrom is null ? jobTasks() : [];
        string task = pathFrom ?? (tasks.Count == 1 ? tasks[0]
            : throw new ArgumentException($"--retrain: the job has {tasks.Count} tasks; say whose learned path to fine-tune with --path-from"));
        if (!source.Network.TaskNames.Contains(task))
        {
            throw new ArgumentException($"--retrain: task '{task}' has no learned path in {source.Directory} (its tasks: {string.Join(", ", source.Network.TaskNames)})");
        }
        var learned = source.Network.Controller(task).ArgMaxPath();
        using var pretrained = Open(init.Checkpoint, $"--retrain: the pre-trained checkpoint of {source.Directory} (init.checkpoint)");
        return [.. common, .. fixedPath, $"init.checkpoint={pretrained.Directory}", $"init.path=[{string.Join(',', learned)}]"];
    }

    private static CheckpointModel Open(string path, string what)
    {
        try
        {
            return CheckpointModel.Open(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ArgumentException($"{what} '{path}': {e.Message}", e);
        }
    }

    private static string ParsePath(string text)
    {
        var units = text.Split(',', StringSplitOptions.TrimEntries);
        if (units.Length == 0 || units.Any(u => !int.TryParse(u, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            throw new ArgumentException($"--path: expected unit indices separated by commas (e.g. 0,1,1,0), got '{text}'");
        }
        return string.Join(',', units);
    }

    // After a dynamic fine-tuning run: each task's learned path, printed and written next to the checkpoints.
    private static void ReportPaths(RunOutput output, JobConfig job)
    {
        if (job.Init.Mode != InitSection.DynamicMode || !job.Init.FromCheckpoint)
        {
            return;
        }
        using var model = CheckpointModel.Open(job.Checkpoint.Dir);
        var paths = job.Tasks.ToDictionary(t => t.Name, t => model.Network.Controller(t.Name).ArgMaxPath());
        foreach (var (task, learned) in paths)
        {
            output.Line(LogEventLevel.Information, Markup.Escape($"learned path of {task}: [{string.Join(", ", learned)}]"));
        }
        var file = Path.Combine(job.Checkpoint.Dir, PathsFile);
        var json = JsonSerializer.SerializeToUtf8Bytes(new { step = model.Step, checkpoint = model.Directory, paths }, new JsonSerializerOptions { WriteIndented = true });
        DurableFile.Replace(file, stream => stream.Write(json));
        output.Line(LogEventLevel.Information, Markup.Escape($"paths: {file}; fine-tune along a learned path with: gppf finetune --retrain --from {job.Checkpoint.Dir} --job ..."));
    }
}
