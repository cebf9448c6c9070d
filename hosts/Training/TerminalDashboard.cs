using System.Diagnostics;
using System.Globalization;
using GppfActors.Actors.Coordinator;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace GppfActors.Host.Training;

/// <summary>
/// The live view of a run in a terminal: one screen redrawn in place with the step and ETA,
/// learning rate, temperature and throughput, the devices and epoch, each task's loss, samples and
/// latest held-out metrics, the last checkpoint, and the newest messages (membership, checkpoints,
/// warnings). Everything a plain run prints as lines goes into the messages instead, so nothing
/// scrolls the view away. Laid out to fit the terminal's width (80 columns included).
/// </summary>
internal sealed class TerminalDashboard
{
    private const int RecentLines = 8;

    private readonly string title;
    private readonly long maxSteps;
    private readonly ProgressView steps;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Dictionary<string, long> samples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> metrics = new(StringComparer.Ordinal);
    private readonly Queue<string> recent = new();
    private readonly object gate = new();
    private ProgressLine? last;
    private IReadOnlyList<DeviceStep> devices = [];
    private double imagesPerSecond = double.NaN;
    private (long Step, double Bytes, double At)? checkpoint;

    private readonly int evalBatches;

    /// <param name="evalBatches">Batches per task an in-training evaluation reads (<c>eval.batches</c>), said with each evaluation.</param>
    public TerminalDashboard(string title, long maxSteps, long startStep, int evalBatches)
    {
        this.evalBatches = evalBatches;
        this.title = title;
        this.maxSteps = maxSteps;
        // Every step updates the view; the plain view's interval does not apply.
        steps = new ProgressView(maxSteps, startStep, 1, AnsiConsole.Console, evalBatches);
    }

    /// <summary>A finished step.</summary>
    public void Progress(TrainingProgress p)
    {
        lock (gate)
        {
            if (steps.Advance(p) is { } line)
            {
                last = line;
                // Smoothed like the losses, so the figure does not jump with each step's task mix.
                imagesPerSecond = double.IsNaN(imagesPerSecond) ? line.ImagesPerSecond : 0.9 * imagesPerSecond + 0.1 * line.ImagesPerSecond;
            }
            foreach (var (task, n) in p.SamplesPerTask)
            {
                samples[task] = samples.GetValueOrDefault(task) + n;
            }
            devices = p.Devices;
        }
    }

    /// <summary>Held-out metrics: shown per task until the next evaluation.</summary>
    public void Evaluated(EvaluationReport report)
    {
        lock (gate)
        {
            foreach (var (task, values) in report.Metrics)
            {
                metrics[task] = string.Join(" ", values.Select(m => $"{m.Key} {m.Value.ToString("0.###", CultureInfo.InvariantCulture)}"));
            }
            foreach (var (task, _) in report.Failures)
            {
                metrics[task] = "failed";
            }
        }
        Message($"held-out metrics at step {report.Step} (first {evalBatches} batch(es) per task; gppf eval for the whole split)");
    }

    /// <summary>A committed checkpoint.</summary>
    public void Checkpoint(long step, long bytes)
    {
        lock (gate)
        {
            checkpoint = (step, bytes, clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>A message (Spectre markup), kept among the newest few.</summary>
    public void Message(string markup)
    {
        lock (gate)
        {
            recent.Enqueue($"[grey]{DateTime.Now:HH:mm:ss}[/] {markup}");
            while (recent.Count > RecentLines)
            {
                recent.Dequeue();
            }
        }
    }

    /// <summary>The screen as it is now.</summary>
    public IRenderable Render()
    {
        lock (gate)
        {
            var rows = new List<IRenderable> { Header() };
            if (TaskTable() is { } tasks)
            {
                rows.Add(tasks);
            }
            if (devices.Count > 0)
            {
                rows.Add(new Markup(Markup.Escape("devices  " + string.Join("  ", devices.Select(d =>
                    $"{(d.Node.Length > 0 ? d.Node + "/" : "")}{d.Device} {d.Task} {d.Seconds.ToString("0.00", CultureInfo.InvariantCulture)}s")))));
            }
            rows.Add(new Rule("[grey]messages[/]").LeftJustified());
            rows.AddRange(recent.Select(line => new Markup(line)));
            return new Panel(new Rows(rows)).Header($" {Markup.Escape(title)} ").Border(BoxBorder.Rounded).Expand();
        }
    }

    private IRenderable Header()
    {
        if (last is not { } line)
        {
            return new Markup("[grey]waiting for the first step...[/]");
        }
        double fraction = maxSteps == 0 ? 1 : (double)line.Done / maxSteps;
        string checkpointText = checkpoint is { } c
            ? $"checkpoint step {c.Step} ({(c.Bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture)} MB, {TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds - c.At):hh\\:mm\\:ss} ago)"
            : "no checkpoint yet";
        return new Rows(
            new Markup($"step [bold]{line.Done}[/]/{maxSteps} ({(fraction * 100).ToString("0", CultureInfo.InvariantCulture)}%)  eta [bold]{line.Eta:hh\\:mm\\:ss}[/]  epoch {line.Epoch}, {line.Devices} device(s)"),
            new Markup($"lr {line.LearningRate.ToString("0.0000", CultureInfo.InvariantCulture)}  tau {line.Tau.ToString("0.000", CultureInfo.InvariantCulture)}  " +
                $"{imagesPerSecond.ToString("0", CultureInfo.InvariantCulture)} img/s  {Markup.Escape(checkpointText)}"));
    }

    private Table? TaskTable()
    {
        if (last is not { } line)
        {
            return null;
        }
        var table = new Table().Border(TableBorder.Simple).Expand();
        table.AddColumn("task");
        table.AddColumn(new TableColumn("loss").RightAligned());
        table.AddColumn(new TableColumn("samples").RightAligned());
        table.AddColumn("held-out");
        foreach (var (task, loss) in line.Loss)
        {
            table.AddRow(Markup.Escape(task), $"[yellow]{loss.ToString("0.000", CultureInfo.InvariantCulture)}[/]",
                samples.GetValueOrDefault(task).ToString("N0", CultureInfo.InvariantCulture), Markup.Escape(metrics.GetValueOrDefault(task, "-")));
        }
        return table;
    }
}
