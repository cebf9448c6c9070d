using System.Globalization;
using ScottPlot;

namespace GppfActors.Bench.Recovery;

/// <summary>The sweep's results per cluster size: a markdown table of medians and a PNG of the recovery's parts.</summary>
internal static class RecoveryReport
{
    public static string TrialLine(TrialResult r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Nodes} nodes, trial {r.Trial}: killed {r.Victim} {r.KillOffsetMs:0} ms into step; unreachable first {r.FirstDetected:0.00} s, at coordinator {r.Detected:0.00} s, " +
        $"all {r.AllDetected:0.00} s; downed {r.Downed:0.00} s, all {r.AllDowned:0.00} s; downed at coordinator {r.DownedAtCoordinator:0.00} s; new epoch {r.NewEpoch:0.00} s; aligned {r.Aligned:0.00} s; next applied step {r.Applied:0.00} s " +
        $"(formed and warm in {r.StartSeconds:0.0} s; {r.OtherReachabilityChanges} other reachability changes; {r.NumMonitors} monitors, heartbeat std {r.HeartbeatStdMs:0} ms, phi 8 after {r.SuspicionSeconds:0.00} s of silence; " +
        $"load average {r.LoadAverage:0.0}; this process {r.CpuCores:0.00} cores during recovery)");

    /// <summary>Median times since the kill per size (min and max of the total), as a markdown table.</summary>
    public static string Table(IReadOnlyList<TrialResult> results)
    {
        var lines = new List<string>
        {
            "| nodes | trials | unreachable, first node (s) | unreachable at coordinator (s) | ... at every survivor (s) | downed (s) | downed at coordinator (s) | new epoch (s) | aligned (s) | **next applied step** (s) | min - max (s) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        };
        foreach (var size in results.GroupBy(r => r.Nodes).OrderBy(g => g.Key))
        {
            var t = size.ToList();
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {size.Key} | {t.Count} | {Median(t, r => r.FirstDetected):0.00} | {Median(t, r => r.Detected):0.00} | {Median(t, r => r.AllDetected):0.00} | " +
                $"{Median(t, r => r.Downed):0.00} | {Median(t, r => r.DownedAtCoordinator):0.00} | {Median(t, r => r.NewEpoch):0.00} | {Median(t, r => r.Aligned):0.00} | " +
                $"**{Median(t, r => r.Applied):0.00}** | {t.Min(r => r.Applied):0.00} - {t.Max(r => r.Applied):0.00} |"));
        }
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The median of each part of the recovery per size (what the plot stacks), as a markdown table.</summary>
    public static string PartsTable(IReadOnlyList<TrialResult> results)
    {
        var lines = new List<string>
        {
            "| nodes | " + string.Join(" | ", TrialResult.PartNames.Select(p => p + " (s)")) + " | total (s) |",
            "|---|" + string.Concat(TrialResult.PartNames.Select(_ => "---|")) + "---|",
        };
        foreach (var size in results.GroupBy(r => r.Nodes).OrderBy(g => g.Key))
        {
            var t = size.ToList();
            // Marks of one node's actors may land microseconds out of order (the new epoch before the
            // timeline's own record of the Down): such a part prints as 0, not -0.00.
            var parts = Enumerable.Range(0, TrialResult.PartNames.Count).Select(i => Math.Max(0, Median(t, r => r.Parts[i])).ToString("0.00", CultureInfo.InvariantCulture));
            lines.Add($"| {size.Key} | {string.Join(" | ", parts)} | {Median(t, r => r.Applied).ToString("0.00", CultureInfo.InvariantCulture)} |");
        }
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>Stacked bars of the median parts per size, and the total's median with its min-max range.</summary>
    public static void Plot(IReadOnlyList<TrialResult> results, string title, string path)
    {
        var plot = new Plot();
        Color[] colors = [Colors.SteelBlue, Colors.Orange, Colors.FireBrick, Colors.SeaGreen, Colors.MediumPurple, Colors.Gray];
        var sizes = results.GroupBy(r => r.Nodes).OrderBy(g => g.Key).ToList();
        double width = sizes.Count > 1 ? 0.6 * sizes.Zip(sizes.Skip(1), (a, b) => b.Key - a.Key).Min() : 1;
        var bars = new List<Bar>();
        foreach (var size in sizes)
        {
            double below = 0;
            for (int part = 0; part < TrialResult.PartNames.Count; part++)
            {
                double value = Median(size.ToList(), r => r.Parts[part]);
                bars.Add(new Bar { Position = size.Key, ValueBase = below, Value = below + value, FillColor = colors[part], Size = width, LineWidth = 0 });
                below += value;
            }
        }
        plot.Add.Bars(bars);
        var xs = sizes.Select(s => (double)s.Key).ToArray();
        var medians = sizes.Select(s => Median(s.ToList(), r => r.Applied)).ToArray();
        var total = plot.Add.Scatter(xs, medians, Colors.Black);
        total.LineWidth = 2;
        total.MarkerSize = 7;
        var range = plot.Add.ErrorBar(xs, medians, sizes.Select((s, i) => s.Max(r => r.Applied) - medians[i]).ToArray());
        range.YErrorNegative = sizes.Select((s, i) => medians[i] - s.Min(r => r.Applied)).ToArray();
        range.Color = Colors.Black;
        for (int part = TrialResult.PartNames.Count - 1; part >= 0; part--)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = TrialResult.PartNames[part], FillColor = colors[part] });
        }
        plot.Legend.ManualItems.Insert(0, new LegendItem { LabelText = "kill -> next applied step (median, min-max)", LineColor = Colors.Black, LineWidth = 2, MarkerColor = Colors.Black, MarkerSize = 7, MarkerShape = MarkerShape.FilledCircle });
        plot.ShowLegend(Edge.Right);
        plot.Title(title);
        plot.XLabel("cluster nodes (ActorSystems)");
        plot.YLabel("seconds after the kill");
        plot.Axes.SetLimitsY(0, results.Max(r => r.Applied) * 1.1);
        plot.Axes.SetLimitsX(xs.Min() - width, xs.Max() + width);
        plot.Axes.Bottom.SetTicks(xs, xs.Select(x => x.ToString(CultureInfo.InvariantCulture)).ToArray());
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 1100, 560);
    }

    private static double Median(IReadOnlyList<TrialResult> trials, Func<TrialResult, double> value)
    {
        var sorted = trials.Select(value).Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
