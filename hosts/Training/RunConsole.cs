using System.Globalization;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Node;
using GppfActors.Host.Logging;
using Spectre.Console;

namespace GppfActors.Host.Training;

/// <summary>
/// What a run prints and records, for `gppf train` and `gppf node` alike: progress lines, evaluation
/// tables, membership and node changes, checkpoints, the final table; and the TensorBoard files and
/// the routing record (<see cref="RoutingRecord"/>, every report interval) in the run folder.
/// </summary>
internal sealed class RunConsole : IDisposable
{
    private readonly IAnsiConsole console;
    private readonly JobConfig job;
    private readonly long startStep;
    private readonly ProgressView view;
    private readonly RunEventLog? json;
    private readonly TerminalDashboard? dashboard;
    private readonly RoutingRecord routing;
    private TensorBoardSink? sink;

    /// <summary>
    /// Shows the run on <paramref name="output"/>: lines in the terminal, the live
    /// <paramref name="dashboard"/> when one is given, or JSON lines (<see cref="RunEventLog"/>).
    /// </summary>
    public RunConsole(RunOutput output, JobConfig job, long startStep, int reportEvery, TerminalDashboard? dashboard = null)
    {
        console = output.Console;
        this.job = job;
        this.startStep = startStep;
        view = new ProgressView(job.Train.MaxSteps, startStep, Math.Max(1, reportEvery), console, job.Eval.Batches);
        json = output.Json is { } log ? new RunEventLog(log, view) : null;
        this.dashboard = json is null ? dashboard : null;
        routing = new RoutingRecord(job.Checkpoint.Dir, reportEvery);
    }

    /// <summary>The final event, once the run finished.</summary>
    public TrainingFinished? Finished { get; private set; }

    /// <summary>The failure, once the run failed.</summary>
    public TrainingFailed? Failed { get; private set; }

    /// <summary>Shows one event. The TensorBoard files are opened on the first training event (only the coordinator's node has those).</summary>
    public void Show(object e)
    {
        if (json is not null)
        {
            Record(e);
            json.Write(e);
            return;
        }
        if (dashboard is not null)
        {
            Record(e);
            Update(dashboard, e);
            return;
        }
        if (EventLine(e) is { } markup)
        {
            console.MarkupLine(markup);
            return;
        }
        switch (e)
        {
            case TrainingProgress p: view.Show(p); Sink().Write(p); routing.Write(p); break;
            case StepSkipped s: view.Show(s); Sink().Write(s); break;
            case EvaluationReport r: view.Show(r); Sink().Write(r); break;
            case ReplicasVerified v:
                console.MarkupLine(Markup.Escape($"replicas identical: {v.NumReplicas} device(s) ({string.Join(", ", v.Devices)}), sha256 {v.Sha256}"));
                break;
            case CheckpointSaved c:
                console.MarkupLine($"[green]checkpoint[/] step {c.Record.Step} committed ({c.Record.Bytes / 1e6:0.0} MB, {Markup.Escape(c.Record.Directory)})");
                break;
            case TrainingFailed f: Failed = f; view.Show(f); break;
            case TrainingFinished f: Finished = f; ShowFinal(f); break;
        }
    }

    // The events shown as one line the same way in plain mode and in the live view's messages.
    private static string? EventLine(object e) => e switch
    {
        LogLine line => $"[grey]{Markup.Escape(line.Message)}[/]",
        NodeLog line => $"[grey]{Markup.Escape(line.Line)}[/]",
        MembershipChanged m => $"[blue]epoch {m.Epoch}[/]: {m.WorldSize} device(s) - {Markup.Escape(m.Reason)}",
        NodeStatusChanged n => $"[blue]node {Markup.Escape(n.Node)}[/] {Markup.Escape(n.Status)}",
        CheckpointNotSaved n => $"[yellow]checkpoint of step {n.Step} not saved:[/] {Markup.Escape(n.Reason)}",
        JobEnded j => $"job ended: {Markup.Escape(j.Summary)}",
        NodeRemoved r => $"[red]{Markup.Escape(r.Reason)}[/]",
        _ => null,
    };

    public void Dispose() => sink?.Dispose();

    /// <summary>The final table (the live view shows it once it has stopped redrawing).</summary>
    public void ShowFinal()
    {
        if (Finished is { } finished)
        {
            ShowFinal(finished);
        }
    }

    // Live view: progress, evaluations and checkpoints update the screen; the rest become its messages.
    private static void Update(TerminalDashboard dashboard, object e)
    {
        if (EventLine(e) is { } markup)
        {
            dashboard.Message(markup);
            return;
        }
        switch (e)
        {
            case TrainingProgress p: dashboard.Progress(p); break;
            case EvaluationReport r: dashboard.Evaluated(r); break;
            case CheckpointSaved c:
                dashboard.Checkpoint(c.Record.Step, c.Record.Bytes);
                dashboard.Message($"[green]checkpoint[/] step {c.Record.Step} committed");
                break;
            case StepSkipped s: dashboard.Message($"[yellow]step {s.Step + 1} skipped:[/] {s.NonFiniteRanks} device(s) non-finite; {s.Consecutive} in a row, {s.TotalSkipped} in total"); break;
            case ReplicasVerified v: dashboard.Message(Markup.Escape($"replicas identical: {v.NumReplicas} device(s), sha256 {v.Sha256[..16]}...")); break;
            case TrainingFailed f: dashboard.Message($"[red]training failed at step {f.Step}:[/] {Markup.Escape(f.Reason)}"); break;
            case TrainingFinished f: dashboard.Message($"finished at step {f.Step}"); break;
        }
    }

    // JSON mode and live view: what the text mode records besides printing (the outcome, the TensorBoard files).
    private void Record(object e)
    {
        switch (e)
        {
            case TrainingProgress p: Sink().Write(p); routing.Write(p); break;
            case StepSkipped s: Sink().Write(s); break;
            case EvaluationReport r: Sink().Write(r); break;
            case TrainingFailed f: Failed = f; break;
            case TrainingFinished f: Finished = f; break;
        }
    }

    private TensorBoardSink Sink() => sink ??= new TensorBoardSink(Path.Combine(job.Checkpoint.Dir, "tensorboard"), startStep);

    private void ShowFinal(TrainingFinished finished)
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
        // Below the table, not in its title: a title wraps to the table's width, and a log is read by grep.
        console.MarkupLine($"[grey]on the first {job.Eval.Batches} batch(es) of each task's val split (eval.batches); gppf eval scores the whole split[/]");
        if (finished.EvaluationFailures.Count > 0)
        {
            console.MarkupLine($"[red]the final evaluation failed for {finished.EvaluationFailures.Count} task(s):[/] " +
                Markup.Escape(string.Join("; ", finished.EvaluationFailures.Select(kv => $"{kv.Key}: {kv.Value}"))));
        }
    }
}

/// <summary>A line of the host's own log.</summary>
internal sealed record LogLine(string Message);
