using System.CommandLine;
using System.Threading.Channels;
using GppfActors.Actors.Coordinator;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Node;
using GppfActors.Host.Training;
using GppfActors.Host.Web;
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
        var web = new LiveViewOptions();
        var command = new Command("train", "Pre-train the GPPF model on the job's tasks (SIMT over the local devices)") { job, devices, resume, discardMissing, set, reportEvery };
        command.Options.Add(web.Port);
        command.Options.Add(web.Host);
        command.SetAction((parse, cancel) => RunAsync(parse.GetValue(job)!, parse.GetValue(devices), new ResumeOptions(parse.GetValue(resume), parse.GetValue(discardMissing)),
            [.. parse.GetValue(set) ?? [], .. web.Overrides(parse)], parse.GetValue(reportEvery), cancel));
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

        // The live view binds before the run starts, so a port in use refuses the start with nothing changed.
        var live = new LiveState(LiveViewOptions.Describe(job, "this process"), hostsTraining: true);
        live.ReadMembersFrom(LiveMembers.SingleProcess);
        LiveView? view;
        try
        {
            view = await LiveViewOptions.StartAsync(job, live, console);
        }
        catch (ArgumentException e)
        {
            console.MarkupLine($"[red]cannot start:[/] {Markup.Escape(e.Message)}");
            return CannotStart;
        }
        await using var served = view;

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
            return CannotStartWith(console, e);
        }

        await using (node)
        {
            using var run = new RunConsole(console, job, node.StartStep, reportEvery);
            console.MarkupLine($"resolved configuration: {Markup.Escape(Path.Combine(job.Checkpoint.Dir, TrainingNode.ResolvedJobFile))}");
            console.MarkupLine($"checkpoints: {Markup.Escape(Path.GetFullPath(job.Checkpoint.Dir))}; journal: {Markup.Escape(JournalStore.For(job).Description)}; TensorBoard: {Markup.Escape(Path.Combine(job.Checkpoint.Dir, "tensorboard"))}");
            _ = node.Completion.ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);
            try
            {
                await foreach (var e in events.Reader.ReadAllAsync(cancel))
                {
                    run.Show(e);
                    live.Apply(e);
                    if (e is TrainingFailed)
                    {
                        return Failed;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                console.MarkupLine("[yellow]interrupted; committed checkpoints are kept, continue with --resume[/]");
                return 130;
            }
            if (run.Finished is not { } finished)
            {
                return Failed;
            }
            console.MarkupLine($"journal: {Markup.Escape(JournalStore.For(job).Description)}");
            return finished.EvaluationFailures.Count > 0 ? Failed : 0;
        }
    }

    /// <summary>One line for a start-up failure (the stack only with GPPF_DEBUG=1).</summary>
    internal static int CannotStartWith(IAnsiConsole console, Exception e)
    {
        console.MarkupLine($"[red]cannot start:[/] {Markup.Escape(OneLine(e))}");
        if (Environment.GetEnvironmentVariable("GPPF_DEBUG") == "1")
        {
            console.WriteLine(e.ToString());
        }
        return CannotStart;
    }

    private static string OneLine(Exception e)
    {
        var message = e is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0].Message : e.Message;
        return message.ReplaceLineEndings(" ");
    }

}
