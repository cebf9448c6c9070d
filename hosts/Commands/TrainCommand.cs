using System.CommandLine;
using System.Globalization;
using System.Threading.Channels;
using GppfActors.Actors.Coordinator;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Node;
using GppfActors.Host.Training;
using Spectre.Console;

namespace GppfActors.Host.Commands;

/// <summary><c>gppf train</c>: runs a training job on this machine's devices, with live progress, TensorBoard files and checkpoints.</summary>
internal static class TrainCommand
{
    /// <summary>Exit code of a run that could not start (bad configuration, data, run folder or journal).</summary>
    public const int CannotStart = 2;

    /// <summary>Exit code of a run that started and failed, or finished with a failed final evaluation.</summary>
    public const int Failed = 1;

    public static Command Create()
    {
        var job = new Option<string>("--job") { Description = $"A preset ({string.Join(", ", JobConfigLoader.Presets)}) or a job JSON file", DefaultValueFactory = _ => "cpu-small" };
        var devices = new Option<string?>("--devices") { Description = "Devices of this node: cpu:K virtual CPU devices (overrides train.devices)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest committed checkpoint in the job's journal" };
        var discardMissing = new Option<bool>("--discard-missing") { Description = "With --resume: when the newest committed checkpoints' folders are gone, resume from the newest one that exists and record the missing ones as discarded" };
        var set = new Option<string[]>("--set") { Description = "Override a job setting, e.g. --set optimizer.lr=0.08 --set tasks.shapes_det.batch_size=2", AllowMultipleArgumentsPerToken = false };
        var reportEvery = new Option<int>("--report-every") { Description = "Print a progress line every N steps", DefaultValueFactory = _ => 10 };
        var command = new Command("train", "Pre-train the GPPF model on the job's tasks (SIMT over the local devices)") { job, devices, resume, discardMissing, set, reportEvery };
        command.SetAction((parse, cancel) => RunAsync(parse.GetValue(job)!, parse.GetValue(devices), new ResumeOptions(parse.GetValue(resume), parse.GetValue(discardMissing)),
            parse.GetValue(set) ?? [], parse.GetValue(reportEvery), cancel));
        return command;
    }

    private static async Task<int> RunAsync(string jobName, string? devices, ResumeOptions resume, string[] sets, int reportEvery, CancellationToken cancel)
    {
        var console = AnsiConsole.Console;
        if (resume.DiscardMissing && !resume.Resume)
        {
            console.MarkupLine("[red]cannot start:[/] --discard-missing only applies with --resume");
            return CannotStart;
        }
        JobConfig job;
        string resolved;
        try
        {
            var overrides = devices is null ? sets : [.. sets, $"train.devices={devices}"];
            (job, resolved) = JobConfigLoader.Load(jobName, overrides);
        }
        catch (ArgumentException e)
        {
            console.MarkupLine($"[red]job configuration:[/] {Markup.Escape(e.Message)}");
            return CannotStart;
        }
        console.MarkupLine($"[bold]gppf train[/] job [bold]{Markup.Escape(job.Name)}[/]: {job.Tasks.Count} tasks, backbone {job.Backbone.Preset} x{job.Backbone.NumUnits} units, " +
            $"{job.Routing.Mode.ToString().ToLowerInvariant()} routing, {job.Sampling.Mode.ToString().ToLowerInvariant()} sampling, sync BN {(job.SyncBatchNorm ? "on" : "off")}, devices {job.Train.Devices}");

        var events = Channel.CreateUnbounded<object>();
        void Log(string message) => events.Writer.TryWrite(new LogLine(message));
        TrainingNode node;
        try
        {
            node = await TrainingNode.StartAsync(job, resolved, resume, e => events.Writer.TryWrite(e), Log);
        }
        catch (Exception e)
        {
            // Whatever the user got wrong (layout of the data, a locked or foreign run folder, a
            // journal that cannot be opened, nothing to resume) ends here as one line; the stack is
            // for developers (GPPF_DEBUG=1).
            while (events.Reader.TryRead(out var pending))
            {
                if (pending is LogLine line)
                {
                    console.MarkupLine(Markup.Escape(line.Message));
                }
            }
            console.MarkupLine($"[red]cannot start:[/] {Markup.Escape(OneLine(e))}");
            if (Environment.GetEnvironmentVariable("GPPF_DEBUG") == "1")
            {
                console.WriteLine(e.ToString());
            }
            return CannotStart;
        }

        await using (node)
        {
            string tensorboard = Path.Combine(job.Checkpoint.Dir, "tensorboard");
            using var sink = new TensorBoardSink(tensorboard, node.StartStep);
            console.MarkupLine($"resolved configuration: {Markup.Escape(Path.Combine(job.Checkpoint.Dir, TrainingNode.ResolvedJobFile))}");
            var view = new ProgressView(job.Train.MaxSteps, node.StartStep, Math.Max(1, reportEvery), console);
            console.MarkupLine($"checkpoints and journal: {Markup.Escape(Path.GetFullPath(job.Checkpoint.Dir))}; TensorBoard: {Markup.Escape(tensorboard)}");
            _ = node.Completion.ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);
            TrainingFinished? finished = null;
            try
            {
                await foreach (var e in events.Reader.ReadAllAsync(cancel))
                {
                    switch (e)
                    {
                        case LogLine line: console.MarkupLine($"[grey]{Markup.Escape(line.Message)}[/]"); break;
                        case TrainingProgress p: view.Show(p); sink.Write(p); break;
                        case StepSkipped s: view.Show(s); sink.Write(s); break;
                        case EvaluationReport r: view.Show(r); sink.Write(r); break;
                        case MembershipChanged m: view.Show(m); break;
                        case CheckpointSaved c:
                            console.MarkupLine($"[green]checkpoint[/] step {c.Record.Step} committed ({c.Record.Bytes / 1e6:0.0} MB, {Markup.Escape(c.Record.Directory)})");
                            break;
                        case CheckpointNotSaved n: console.MarkupLine($"[yellow]checkpoint of step {n.Step} not saved:[/] {Markup.Escape(n.Reason)}"); break;
                        case TrainingFailed f: view.Show(f); return Failed;
                        case TrainingFinished f: finished = f; break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                console.MarkupLine("[yellow]interrupted; committed checkpoints are kept, continue with --resume[/]");
                return 130;
            }
            if (finished is null)
            {
                return Failed;
            }
            ShowFinal(console, finished, job);
            if (finished.EvaluationFailures.Count > 0)
            {
                console.MarkupLine($"[red]the final evaluation failed for {finished.EvaluationFailures.Count} task(s):[/] " +
                    Markup.Escape(string.Join("; ", finished.EvaluationFailures.Select(kv => $"{kv.Key}: {kv.Value}"))));
                return Failed;
            }
            return 0;
        }
    }

    private static string OneLine(Exception e)
    {
        var message = e is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0].Message : e.Message;
        return message.ReplaceLineEndings(" ");
    }

    private static void ShowFinal(IAnsiConsole console, TrainingFinished finished, JobConfig job)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"final held-out metrics after {finished.Step} steps");
        table.AddColumn("task");
        table.AddColumn("family");
        table.AddColumn("metrics");
        foreach (var task in job.Tasks)
        {
            string metrics = finished.FinalMetrics.TryGetValue(task.Name, out var m)
                ? string.Join("  ", m.Select(kv => $"{kv.Key} {kv.Value.ToString("0.####", CultureInfo.InvariantCulture)}"))
                : finished.EvaluationFailures.TryGetValue(task.Name, out var reason) ? $"failed: {reason}" : "-";
            table.AddRow(Markup.Escape(task.Name), task.Family.ToString(), Markup.Escape(metrics));
        }
        console.Write(table);
        console.MarkupLine($"journal: {Markup.Escape(TrainingNode.JournalPath(job))}");
    }

    private sealed record LogLine(string Message);
}
