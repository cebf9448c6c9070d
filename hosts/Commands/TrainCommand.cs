using System.CommandLine;
using System.Threading.Channels;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Metrics;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Node;
using GppfActors.Host.Logging;
using GppfActors.Host.Training;
using GppfActors.Host.Web;
using GppfActors.Model.Precision;
using Serilog.Events;
using Spectre.Console;

namespace GppfActors.Host.Commands;

/// <summary><c>gppf train</c>: runs a training job on this machine's devices, with live progress, TensorBoard files and checkpoints.</summary>
internal static class TrainCommand
{
    /// <summary>Exit code of a run that could not start (bad configuration, data, run folder or journal).</summary>
    public const int CannotStart = 2;

    /// <summary>Exit code of a run that started and failed, or finished with a failed final evaluation.</summary>
    public const int Failed = 1;

    public static Command Create() => Create("train", "Pre-train the GPPF model on the job's tasks (SIMT over the local devices)", extension: null);

    /// <summary>
    /// What a command running a training job adds to <c>train</c>: its own options, the job settings
    /// they stand for (given the parse, the <c>--job</c> and the user's <c>--set</c> lines; applied
    /// after those; an <see cref="ArgumentException"/> refuses the start), and what it reports once
    /// the job has finished.
    /// </summary>
    internal sealed record RunExtension(IReadOnlyList<Option> Options, Func<ParseResult, string, string[], string[]> Overrides, Action<RunOutput, JobConfig>? Finished = null);

    /// <summary>A command that runs a training job through the same actors, checkpoints and progress as <c>train</c>.</summary>
    internal static Command Create(string name, string description, RunExtension? extension)
    {
        var job = new Option<string>("--job") { Description = $"A preset ({string.Join(", ", JobConfigLoader.Presets)}) or a job JSON file", DefaultValueFactory = _ => "cpu-small" };
        var devices = new Option<string?>("--devices") { Description = "Devices of this node: cpu:K virtual CPU devices (overrides train.devices)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest committed checkpoint in the job's journal" };
        var discardMissing = new Option<bool>("--discard-missing") { Description = "With --resume: when the newest committed checkpoints' folders are gone, resume from the newest one that exists and record the missing ones as discarded" };
        var set = new Option<string[]>("--set") { Description = "Override a job setting, e.g. --set optimizer.lr=0.08 --set tasks.shapes_det.batch_size=2", AllowMultipleArgumentsPerToken = false };
        var reportEvery = new Option<int>("--report-every") { Description = "Print a progress line every N steps (plain lines)", DefaultValueFactory = _ => 10 };
        var plain = new Option<bool>("--plain") { Description = "Plain progress lines even in a terminal (the default when output is redirected), instead of the live view" };
        var logFormat = LogFormatOption();
        var web = new LiveViewOptions();
        var (metricsPort, metricsHost) = (MetricsPortOption(), MetricsHostOption());
        var command = new Command(name, description)
        {
            job, devices, resume, discardMissing, set, reportEvery, plain, logFormat, metricsPort, metricsHost,
        };
        command.Options.Add(web.Port);
        command.Options.Add(web.Host);
        foreach (var option in extension?.Options ?? [])
        {
            command.Options.Add(option);
        }
        command.SetAction(async (parse, cancel) =>
        {
            string format = parse.GetValue(logFormat)!;
            bool liveView = format == "text" && !parse.GetValue(plain) && ShowsLiveView(AnsiConsole.Console);
            using var output = liveView ? RunOutput.LiveText(AnsiConsole.Console) : RunOutput.For(format, AnsiConsole.Console, Environment.MachineName);
            string[] own;
            try
            {
                own = extension?.Overrides(parse, parse.GetValue(job)!, parse.GetValue(set) ?? []) ?? [];
            }
            catch (ArgumentException e)
            {
                return CannotStartWith(output, e);
            }
            return await RunAsync(output, name, parse.GetValue(job)!, new ResumeOptions(parse.GetValue(resume), parse.GetValue(discardMissing)),
                [.. parse.GetValue(set) ?? [], .. own, .. web.Overrides(parse), .. CommandLineOverrides(parse.GetValue(devices), parse.GetValue(metricsPort), parse.GetValue(metricsHost))],
                parse.GetValue(reportEvery), liveView, extension?.Finished, cancel);
        });
        return command;
    }

    /// <summary>
    /// The live view needs a terminal that takes cursor movement: standard output not redirected
    /// (a file, a pipe, CI) and a console Spectre found interactive and ANSI-capable.
    /// </summary>
    internal static bool ShowsLiveView(IAnsiConsole console) =>
        !Console.IsOutputRedirected && console.Profile.Capabilities.Ansi && console.Profile.Capabilities.Interactive
        && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb");

    /// <summary><c>--log-format text|json</c>, shared by <c>train</c> and <c>node</c>.</summary>
    internal static Option<string> LogFormatOption()
    {
        var option = new Option<string>("--log-format")
        {
            Description = "text: lines for a person (default); json: one JSON object per line (Serilog compact format, Akka's log included), each with node, epoch and step",
            DefaultValueFactory = _ => "text",
        };
        option.AcceptOnlyFromAmong([.. RunOutput.Formats]);
        return option;
    }

    /// <summary><c>--metrics-port</c>, for train and node alike.</summary>
    internal static Option<int?> MetricsPortOption() =>
        new("--metrics-port") { Description = "Serve Prometheus metrics at http://HOST:PORT/metrics (overrides observability.metrics_port; 0: none)" };

    /// <summary><c>--metrics-host</c>, for train and node alike.</summary>
    internal static Option<string?> MetricsHostOption() =>
        new("--metrics-host") { Description = "The address the metrics are served on (overrides observability.metrics_host; default 127.0.0.1, * for every interface)" };

    /// <summary>The job settings that command-line options override, as <c>--set</c> lines (applied after the user's).</summary>
    internal static string[] CommandLineOverrides(string? devices, int? metricsPort, string? metricsHost) =>
    [
        .. devices is null ? Array.Empty<string>() : [$"train.devices={devices}"],
        .. metricsPort is { } port ? [$"observability.metrics_port={port}"] : Array.Empty<string>(),
        .. metricsHost is null ? Array.Empty<string>() : [$"observability.metrics_host={metricsHost}"],
    ];

    /// <summary>
    /// The node's metrics and, when the job asks for one, its /metrics endpoint (its URL printed once);
    /// a port that cannot be opened is an <see cref="ArgumentException"/> naming it.
    /// </summary>
    internal static (NodeMetrics Metrics, MetricsEndpoint? Endpoint) StartMetrics(RunOutput output, JobConfig job, string node)
    {
        var metrics = new NodeMetrics(node);
        var endpoint = MetricsEndpoint.Start(metrics, job.Observability);
        if (endpoint is not null)
        {
            output.Line(LogEventLevel.Information, $"metrics: {Markup.Escape(endpoint.Url)}");
        }
        return (metrics, endpoint);
    }

    private static async Task<int> RunAsync(RunOutput output, string commandName, string jobName, ResumeOptions resume, string[] overrides, int reportEvery, bool liveView,
        Action<RunOutput, JobConfig>? finished, CancellationToken cancel)
    {
        if (resume.DiscardMissing && !resume.Resume)
        {
            output.Line(LogEventLevel.Error, "[red]cannot start:[/] --discard-missing only applies with --resume");
            return CannotStart;
        }
        JobConfig job;
        string resolved;
        try
        {
            (job, resolved) = JobConfigLoader.Load(jobName, overrides);
        }
        catch (ArgumentException e)
        {
            output.Line(LogEventLevel.Error, $"[red]job configuration:[/] {Markup.Escape(e.Message)}");
            return CannotStart;
        }
        output.Line(LogEventLevel.Information, $"[bold]gppf {commandName}[/] job [bold]{Markup.Escape(job.Name)}[/]: {job.Tasks.Count} tasks, backbone {job.Backbone.Preset} x{job.Backbone.NumUnits} units, " +
            $"{job.Routing.Mode.ToString().ToLowerInvariant()} routing, {job.Sampling.Mode.ToString().ToLowerInvariant()} sampling, sync BN {(job.SyncBatchNorm ? "on" : "off")}, " +
            $"{(job.Train.Precision == ComputePrecision.Fp32 ? "fp32" : "bf16 mixed precision")}, devices {job.Train.Devices}");

        // The live view binds before the run starts, so a port in use refuses the start with nothing changed.
        var live = new LiveState(LiveViewOptions.Describe(job, "this process"), hostsTraining: true);
        live.ReadMembersFrom(LiveMembers.SingleProcess);
        LiveView? view;
        try
        {
            view = await LiveViewOptions.StartAsync(job, live, text => output.Line(LogEventLevel.Information, Markup.Escape(text)));
        }
        catch (ArgumentException e)
        {
            output.Line(LogEventLevel.Error, $"[red]cannot start:[/] {Markup.Escape(e.Message)}");
            return CannotStart;
        }
        await using var served = view;

        NodeMetrics metrics;
        MetricsEndpoint? endpoint;
        try
        {
            (metrics, endpoint) = StartMetrics(output, job, Environment.MachineName);
        }
        catch (ArgumentException e)
        {
            return CannotStartWith(output, e);
        }
        using var metricsServed = endpoint;
        var events = Channel.CreateUnbounded<object>();
        void Log(string message) => events.Writer.TryWrite(new LogLine(message));
        TrainingNode node;
        try
        {
            node = await TrainingNode.StartAsync(job, resolved, resume, e => events.Writer.TryWrite(e), Log, output.Loggers, metrics);
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
                    output.Line(LogEventLevel.Information, Markup.Escape(line.Message));
                }
            }
            return CannotStartWith(output, e);
        }

        await using (node)
        {
            output.Attach(node.System);
            output.Line(LogEventLevel.Information, $"resolved configuration: {Markup.Escape(Path.Combine(job.Checkpoint.Dir, TrainingNode.ResolvedJobFile))}");
            output.Line(LogEventLevel.Information, $"checkpoints: {Markup.Escape(Path.GetFullPath(job.Checkpoint.Dir))}; journal: {Markup.Escape(JournalStore.For(job).Description)}; TensorBoard: {Markup.Escape(Path.Combine(job.Checkpoint.Dir, "tensorboard"))}");
            var dashboard = liveView ? new TerminalDashboard($"gppf {commandName} {job.Name}", job.Train.MaxSteps, node.StartStep, job.Eval.Batches) : null;
            using var run = new RunConsole(output, job, node.StartStep, reportEvery, dashboard);
            _ = node.Completion.ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);

            // Every event, shown as it comes; null when the run ended, else the exit code to stop with.
            async Task<int?> Pump()
            {
                try
                {
                    await foreach (var e in events.Reader.ReadAllAsync(cancel))
                    {
                        metrics.Observe(e);
                        run.Show(e);
                        live.Apply(e);
                        if (e is TrainingFailed)
                        {
                            return Failed;
                        }
                    }
                    return null;
                }
                catch (OperationCanceledException)
                {
                    return 130;
                }
            }

            int? stopped;
            if (dashboard is null)
            {
                stopped = await Pump();
            }
            else
            {
                // The view is redrawn twice a second, however fast or slow steps come.
                output.DivertTo(dashboard.Message);
                try
                {
                    stopped = await output.Console.Live(dashboard.Render()).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).StartAsync(async context =>
                    {
                        using var done = new CancellationTokenSource();
                        var redraw = Task.Run(async () =>
                        {
                            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
                            while (await timer.WaitForNextTickAsync(CancellationToken.None) && !done.IsCancellationRequested)
                            {
                                context.UpdateTarget(dashboard.Render());
                            }
                        }, CancellationToken.None);
                        var code = await Pump();
                        await done.CancelAsync();
                        await redraw;
                        context.UpdateTarget(dashboard.Render());
                        return code;
                    });
                }
                finally
                {
                    output.DivertTo(null);
                }
                run.ShowFinal();
            }
            if (stopped == 130)
            {
                output.Line(LogEventLevel.Warning, "[yellow]interrupted; committed checkpoints are kept, continue with --resume[/]");
            }
            if (stopped is { } code)
            {
                return code;
            }
            if (run.Finished is not { } done)
            {
                return Failed;
            }
            output.Line(LogEventLevel.Information, $"journal: {Markup.Escape(JournalStore.For(job).Description)}");
            if (done.EvaluationFailures.Count > 0)
            {
                return Failed;
            }
            finished?.Invoke(output, job);
            return 0;
        }
    }

    /// <summary>One line for a start-up failure (the stack only with GPPF_DEBUG=1).</summary>
    internal static int CannotStartWith(RunOutput output, Exception e)
    {
        output.Line(LogEventLevel.Error, $"[red]cannot start:[/] {Markup.Escape(OneLine(e))}");
        if (Environment.GetEnvironmentVariable("GPPF_DEBUG") == "1")
        {
            output.Line(LogEventLevel.Debug, Markup.Escape(e.ToString()));
        }
        return CannotStart;
    }

    private static string OneLine(Exception e)
    {
        var message = e is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0].Message : e.Message;
        return message.ReplaceLineEndings(" ");
    }

}
