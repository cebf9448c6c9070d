using System.Diagnostics;
using System.Globalization;
using GppfActors.Actors.Coordinator;
using Spectre.Console;

namespace GppfActors.Host.Training;

/// <summary>
/// What a person watching a run sees: one line per reporting interval (step, ETA, LR, tau,
/// images/s, loss per task), held-out metrics when evaluated, skipped steps and a failure.
/// Plain lines, so the view reads the same in a terminal, a log file and CI.
/// </summary>
internal sealed class ProgressView(long maxSteps, long startStep, int reportEverySteps, IAnsiConsole console, int evalBatches)
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Dictionary<string, double> lastLoss = [];
    private long samplesSinceReport;
    private double secondsSinceReport;

    /// <summary>Counts a finished step; at the end of a reporting interval returns what to report.</summary>
    public ProgressLine? Advance(TrainingProgress p)
    {
        foreach (var (task, loss) in p.LossPerTask)
        {
            lastLoss[task] = lastLoss.TryGetValue(task, out var old) ? 0.9 * old + 0.1 * loss : loss;
        }
        samplesSinceReport += p.Samples;
        secondsSinceReport += p.StepSeconds;
        long done = p.Step + 1;
        if (done % reportEverySteps != 0 && done != maxSteps)
        {
            return null;
        }
        double elapsed = clock.Elapsed.TotalSeconds;
        double perStep = elapsed / Math.Max(1, done - startStep);
        var eta = TimeSpan.FromSeconds(perStep * (maxSteps - done));
        double imagesPerSecond = samplesSinceReport / Math.Max(1e-9, secondsSinceReport);
        samplesSinceReport = 0;
        secondsSinceReport = 0;
        var losses = lastLoss.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value);
        return new ProgressLine(p.Step, done, maxSteps, eta, p.LearningRate, p.Tau, imagesPerSecond, p.WorldSize, p.Epoch, losses);
    }

    public void Show(TrainingProgress p)
    {
        if (Advance(p) is not { } line)
        {
            return;
        }
        foreach (string markup in Layout(line, console.Profile.Width))
        {
            console.MarkupLine(markup);
        }
    }

    /// <summary>
    /// A progress report as lines (Spectre markup) no wider than <paramref name="width"/> columns:
    /// one line when it fits (a log read by grep); otherwise the schedule on the first line and the
    /// tasks' losses on as many indented lines as they need.
    /// </summary>
    public IReadOnlyList<string> Layout(ProgressLine line, int width)
    {
        string head = $"step {line.Done,6}/{maxSteps}  eta {line.Eta:hh\\:mm\\:ss}  lr {line.LearningRate.ToString("0.0000", CultureInfo.InvariantCulture)}  " +
            $"tau {line.Tau.ToString("0.000", CultureInfo.InvariantCulture)}  {line.ImagesPerSecond.ToString("0", CultureInfo.InvariantCulture),5} img/s  devices {line.Devices}";
        var losses = line.Loss.Select(kv => (Text: $"{kv.Key} {kv.Value.ToString("0.000", CultureInfo.InvariantCulture)}",
            Markup: $"{Markup.Escape(kv.Key)} [yellow]{kv.Value.ToString("0.000", CultureInfo.InvariantCulture)}[/]")).ToList();
        string Styled(string plainHead) => plainHead.Replace($"step {line.Done,6}", $"step [bold]{line.Done,6}[/]", StringComparison.Ordinal);
        if (head.Length + "  loss ".Length + losses.Sum(l => l.Text.Length + 2) - 2 <= width)
        {
            return [$"{Styled(head)}  loss {string.Join("  ", losses.Select(l => l.Markup))}"];
        }
        int at = head.IndexOf("  tau ", StringComparison.Ordinal);
        var lines = head.Length <= width ? new List<string> { Styled(head) } : [Styled(head[..at]), "  " + head[(at + 2)..]];
        int headLines = lines.Count;
        const string Indent = "  loss ";
        var (current, currentWidth) = (new List<string>(), Indent.Length);
        foreach (var (text, markup) in losses)
        {
            if (current.Count > 0 && currentWidth + 2 + text.Length > width)
            {
                lines.Add((lines.Count == headLines ? Indent : new string(' ', Indent.Length)) + string.Join("  ", current));
                (current, currentWidth) = ([], Indent.Length);
            }
            currentWidth += (current.Count > 0 ? 2 : 0) + text.Length;
            current.Add(markup);
        }
        if (current.Count > 0)
        {
            lines.Add((lines.Count == headLines ? Indent : new string(' ', Indent.Length)) + string.Join("  ", current));
        }
        return lines;
    }

    public void Show(EvaluationReport report)
    {
        var table = new Table().Border(TableBorder.Simple).Title($"held-out metrics at step {report.Step}");
        table.AddColumn("task");
        table.AddColumn("metrics");
        table.AddColumn("path (arg-max unit per layer)");
        foreach (var (task, metrics) in report.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            string values = string.Join("  ", metrics.Select(m => $"{m.Key} {m.Value.ToString("0.####", CultureInfo.InvariantCulture)}"));
            string path = report.UnitProbabilities.TryGetValue(task, out var layers)
                ? string.Concat(layers.Select(l => l.Count <= 1 ? "0" : l.Select((p, i) => (p, i)).MaxBy(x => x.p).i.ToString(CultureInfo.InvariantCulture)))
                : "";
            table.AddRow(Markup.Escape(task), Markup.Escape(values), path);
        }
        foreach (var (task, reason) in report.Failures.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            table.AddRow(Markup.Escape(task), $"[red]failed:[/] {Markup.Escape(reason)}", "");
        }
        console.Write(table);
        console.MarkupLine($"[grey]on the first {evalBatches} batch(es) of each task's val split (eval.batches); gppf eval scores the whole split[/]");
    }

    public void Show(StepSkipped skipped) =>
        console.MarkupLine($"[yellow]step {skipped.Step + 1} skipped on every device:[/] {skipped.NonFiniteRanks} device(s) had non-finite loss or gradients" +
            $"{(skipped.NonFiniteTasks.Count > 0 ? $" ({Markup.Escape(string.Join(", ", skipped.NonFiniteTasks))})" : "")}; {skipped.Consecutive} in a row, {skipped.TotalSkipped} in total");

    public void Show(TrainingFailed failed) =>
        console.MarkupLine($"[red]training failed at step {failed.Step}:[/] {Markup.Escape(failed.Reason)}");
}

/// <summary>
/// One reporting interval: the step that finished (<paramref name="Step"/>, 0-based) and the count
/// done, the ETA, the schedule, images per second over the interval, the devices and epoch, and
/// each task's loss smoothed over steps (exponential, 0.9).
/// </summary>
internal sealed record ProgressLine(long Step, long Done, long MaxSteps, TimeSpan Eta, double LearningRate, double Tau, double ImagesPerSecond, int Devices, long Epoch,
    IReadOnlyDictionary<string, double> Loss);
