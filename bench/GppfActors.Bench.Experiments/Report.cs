using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using GppfActors.Tasks.Formats;

namespace GppfActors.Bench.Experiments;

/// <summary>Writes the markdown report (tables of mean, spread and range per configuration, and the paper's directions as measured) and the per-run CSV.</summary>
internal static class Report
{
    // (task, metric, higher is better, column title)
    private static readonly (string Task, string Metric, bool Higher, string Title)[] PretrainingColumns =
    [
        (ExperimentJobs.Classification, "top1", true, "cls top-1 ↑"),
        (ExperimentJobs.Detection, "AP", true, "det AP ↑"),
        (ExperimentJobs.Detection, "AP50", true, "det AP50 ↑"),
        (ExperimentJobs.Segmentation, "mIoU", true, "seg mIoU ↑"),
        (ExperimentJobs.Depth, "AbsRel", false, "depth AbsRel ↓"),
        (ExperimentJobs.Depth, "d1", true, "depth δ1 ↑"),
    ];

    private static readonly (string Task, string Metric, bool Higher, string Title)[] FinetuningColumns =
    [
        (ExperimentJobs.Classification, "top1", true, "cls top-1 ↑"),
    ];

    /// <summary>The line of a failed run's output that says why.</summary>
    public static string Reason(string tail) =>
        tail.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("cannot", StringComparison.OrdinalIgnoreCase) || l.Contains("non-finite", StringComparison.OrdinalIgnoreCase))
        ?? tail.Split('\n').LastOrDefault() ?? "";

    public static void Write(Options options, IReadOnlyList<RunResult> results, TimeSpan wall)
    {
        var md = new StringBuilder();
        var seeds = results.Select(r => r.Seed).Distinct().Order().ToList();
        md.AppendLine("# The paper's claims in miniature");
        md.AppendLine();
        md.AppendLine("Written by the experiment runner; every number below is measured by it. Rerun with:");
        md.AppendLine();
        md.AppendLine("```bash");
        md.AppendLine($"dotnet run -c Release --project bench/GppfActors.Bench.Experiments -- --seeds {string.Join(',', options.Seeds)} --steps {options.Steps} --finetune-steps {options.FinetuneSteps}");
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine($"- Machine: {Machine()}; {RuntimeInformation.FrameworkDescription}; {DateTime.UtcNow:yyyy-MM-dd}.");
        md.AppendLine($"- Wall time: **{wall.TotalMinutes:0.0} min** for {results.Count} runs (seeds done: {string.Join(", ", seeds)}), each followed by `gppf eval` on the whole val split; " +
            string.Join(", ", results.GroupBy(r => r.Table).Select(g => $"{g.Key} {g.Sum(r => r.Seconds) / 60:0.0} min of training")) + ".");
        md.AppendLine($"- Every run: `gppf train` or `gppf finetune` on 2 virtual CPU devices (`cpu:2`), the synthetic set (`gppf synth --size small --seed 7`: 200 val images per task), " +
            $"the `small` backbone (stem + 4 basic blocks), SGD lr 0.05 (momentum 0.9, weight decay 1e-4, cosine to 5e-4 after a short warm-up), " +
            $"**{options.Steps} steps** of pre-training and **{options.FinetuneSteps} steps** of fine-tuning for every configuration (equal step budgets), " +
            "tau 5 -> 0.5 over 90% of the steps, cpu-small's batch sizes and input sizes (classification 16 x 32x32; detection, segmentation, depth 4 x 64x64). " +
            "The job's seed drives initialisation, task draws, data order, augmentation and Gumbel noise; the data set is the same for every seed.");
        md.AppendLine("- Equal step budgets are not equal data per task: a task trained alone has both devices every step, while in joint training each device draws a task by the sampling weights " +
            "(classification 2, detection, segmentation and depth 1 each: 40% and 20% of the device-steps), so each task sees 2.5 to 5 times fewer batches than alone.");
        md.AppendLine("- Depth: `max_depth_metres` 24 covers every depth of the synthetic set (shapes 2 to 6 m, the background plane 7.5 to 22.5 m); the head predicts log-depth, and the loss and the metrics count the pixels whose ground truth lies inside (0.001, 24) m.");
        md.AppendLine("- Sizes were chosen so that the whole set of runs fits in about an hour on 2 cores; at this scale the metrics are far from converged, and differences of a few points are within seed noise (see the spreads).");
        md.AppendLine("- Cells: mean ± sample standard deviation over seeds, and [min, max]. A run that failed is left out of its cell and named under the table.");
        md.AppendLine();

        md.AppendLine($"## Pre-training: four families at once ({options.Steps} steps)");
        md.AppendLine();
        Table(md, results.Where(r => r.Table == Labels.PretrainingTable).ToList(), PretrainingColumns);
        md.AppendLine("\"alone\" rows train one task on both devices with a standard network (N = 1), the paper's single-task baseline; their other columns are empty.");
        md.AppendLine();

        md.AppendLine($"## Fine-tuning a task held out of pre-training (classification, {options.FinetuneSteps} steps)");
        md.AppendLine();
        md.AppendLine($"The joint backbone for (a), (b) and (b') is pre-trained with the method on detection, segmentation and depth only ({options.Steps} steps); (a) and (c) take the arg-max path of `shapes_det`, the related task (detection of the same five shape classes); (c) starts from the `shapes_det alone` runs of the table above (the same seed); (d) trains the classification job from its seed's initialisation. Every fine-tuning run uses the classification job's own new head, optimizer and schedule; nothing is frozen.");
        md.AppendLine();
        Table(md, results.Where(r => r.Table == Labels.FinetuningTable).ToList(), FinetuningColumns);
        md.AppendLine("Held-out pre-training runs (for reference):");
        md.AppendLine();
        Table(md, results.Where(r => r.Table == Labels.HeldOutTable).ToList(), PretrainingColumns.Where(c => c.Task != ExperimentJobs.HeldOut).ToArray());

        md.AppendLine("## The paper's directions, as measured here");
        md.AppendLine();
        md.AppendLine("\"holds\": the first configuration is better by more than the sum of the two standard deviations; \"same direction, within spread\": better by less; " +
            "\"opposite, within spread\": worse by less; \"does not hold\": worse by more. A claim that does not hold here is a result at this scale, not a failure of the run.");
        md.AppendLine();
        md.AppendLine("| claim (paper) | first vs second | task metric | difference of means | verdict |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var (claim, first, second, columns) in Claims())
        {
            foreach (var column in columns)
            {
                string b = second(column.Task);
                md.AppendLine($"| {claim} | {first} vs {b} | {column.Task} {column.Metric} | {Direction(results, first, b, column)} |");
            }
        }
        md.AppendLine();
        md.AppendLine("Every run's numbers: [experiments-runs.csv](experiments-runs.csv). Each run's log and job file stay in the work folder with `--keep`.");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Out))!);
        File.WriteAllText(options.Out, md.ToString());
        WriteCsv(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.Out))!, "experiments-runs.csv"), results);
    }

    private static IEnumerable<(string Claim, string First, Func<string, string> Second, (string Task, string Metric, bool Higher, string Title)[] Columns)> Claims()
    {
        var main = PretrainingColumns.Where(c => c.Metric is "top1" or "AP" or "mIoU" or "AbsRel").ToArray();
        yield return ("SIMT needs cross-task SyncBN (without it the paper's run diverged)", Labels.Method, _ => Labels.NoSyncBn, main);
        yield return ("SIMT beats per-batch sampling (which diverged in the paper)", Labels.Method, _ => Labels.PerBatch, main);
        yield return ("joint training beats each task alone (every task in Table 1)", Labels.Method, Labels.Alone, main);
        yield return ("a dynamic backbone beats a static one (detection and classification; 2 of 3 segmentation sets did worse)", Labels.Method, _ => Labels.Static, main);
        yield return ("soft routing is preferable to hard", Labels.Method, _ => Labels.Hard, main);
        yield return ("pre-trained starts beat training from scratch", Labels.FixedFromJoint, _ => Labels.Scratch, FinetuningColumns);
        yield return ("pre-trained starts beat training from scratch", Labels.Dynamic, _ => Labels.Scratch, FinetuningColumns);
        yield return ("joint pre-training is a better start than single-task pre-training", Labels.FixedFromJoint, _ => Labels.FixedFromSingle, FinetuningColumns);
        yield return ("retraining along the dynamically learned path vs dynamic fine-tuning", Labels.Retrain, _ => Labels.Dynamic, FinetuningColumns);
    }

    private static string Direction(IReadOnlyList<RunResult> results, string first, string second, (string Task, string Metric, bool Higher, string Title) column)
    {
        var a = Values(results, first, column);
        var b = Values(results, second, column);
        if (a.Count == 0 || b.Count == 0)
        {
            return $"n/a ({(a.Count == 0 ? first : second)}: no finished run) | n/a";
        }
        double diff = a.Average() - b.Average();
        double spread = Sd(a) + Sd(b);
        if (Same(a.Average(), b.Average()))
        {
            return $"0 (spread {spread.ToString("0.0000", CultureInfo.InvariantCulture)}) | no difference: the same value";
        }
        double better = column.Higher ? diff : -diff;
        string verdict = better > spread ? "holds" : better > 0 ? "same direction, within spread" : -better > spread ? "does not hold" : "opposite, within spread";
        // Rounded first: a tiny negative difference would otherwise print as "-+0.0000".
        double shown = Math.Round(diff, 4);
        string difference = shown == 0 ? "0.0000" : shown.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture);
        return $"{difference} (spread {spread.ToString("0.0000", CultureInfo.InvariantCulture)}) | {verdict}";
    }

    private static void Table(StringBuilder md, IReadOnlyList<RunResult> rows, (string Task, string Metric, bool Higher, string Title)[] columns)
    {
        md.AppendLine($"| configuration | {string.Join(" | ", columns.Select(c => c.Title))} | s / run |");
        md.AppendLine($"|---|{string.Concat(columns.Select(_ => "---|"))}---|");
        var failures = new List<string>();
        foreach (var group in rows.GroupBy(r => r.Configuration))
        {
            var cells = columns.Select(c =>
            {
                var values = Values(group.ToList(), group.Key, c);
                return values.Count == 0 ? "" : Cell(values);
            });
            md.AppendLine($"| {group.Key} | {string.Join(" | ", cells)} | {group.Average(r => r.Seconds):0} |");
            failures.AddRange(group.Where(r => r.Failure is not null).Select(r => $"- {group.Key}, seed {r.Seed}: {r.Failure}"));
        }
        md.AppendLine();
        foreach (var column in columns)
        {
            var all = rows.SelectMany(r => Values([r], r.Configuration, column)).ToList();
            if (all.Count > 1 && all.All(v => Same(v, all[0])))
            {
                md.AppendLine($"Every run of this table scores exactly {all[0].ToString("0.0000", CultureInfo.InvariantCulture)} on {column.Title}: at this scale that metric does not tell the configurations apart.");
                md.AppendLine();
            }
        }
        if (failures.Count > 0)
        {
            md.AppendLine("Failed runs:");
            md.AppendLine();
            failures.ForEach(f => md.AppendLine(f));
            md.AppendLine();
        }
    }

    private static List<double> Values(IReadOnlyList<RunResult> results, string configuration, (string Task, string Metric, bool Higher, string Title) column) =>
        results.Where(r => r.Configuration == configuration && r.Failure is null && r.Metrics.TryGetValue(column.Task, out var m) && m.ContainsKey(column.Metric))
            .Select(r => r.Metrics[column.Task][column.Metric]).ToList();

    // Equal to float precision: metrics summed in another order differ in the last bits only.
    private static bool Same(double x, double y) => Math.Abs(x - y) <= 1e-6 * Math.Max(1, Math.Max(Math.Abs(x), Math.Abs(y)));

    /// <summary>The runs of a CSV written by <see cref="Write"/>.</summary>
    public static IReadOnlyList<RunResult> ReadCsv(string file)
    {
        var runs = new Dictionary<(string Table, string Configuration, ulong Seed), (Dictionary<string, Dictionary<string, double>> Metrics, double Seconds, string? Failure)>();
        foreach (var line in File.ReadLines(file).Skip(1).Where(l => l.Length > 0))
        {
            var f = CsvLine.Split(line) ?? throw new FormatException($"{file}: a quoted field is not closed in '{line}'");
            var key = (f[0], f[1], ulong.Parse(f[2], CultureInfo.InvariantCulture));
            if (!runs.TryGetValue(key, out var run))
            {
                run = (new Dictionary<string, Dictionary<string, double>>(), double.Parse(f[6], CultureInfo.InvariantCulture), f[7].Length > 0 ? f[7] : null);
                runs[key] = run;
            }
            if (f[3].Length > 0)
            {
                if (!run.Metrics.TryGetValue(f[3], out var metrics))
                {
                    run.Metrics[f[3]] = metrics = [];
                }
                metrics[f[4]] = double.Parse(f[5], CultureInfo.InvariantCulture);
            }
        }
        return runs.Select(r => new RunResult(r.Key.Table, r.Key.Configuration, r.Key.Seed,
            r.Value.Metrics.ToDictionary(m => m.Key, m => (IReadOnlyDictionary<string, double>)m.Value), r.Value.Seconds, r.Value.Failure)).ToList();
    }

    private static string Cell(List<double> values)
    {
        string f(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        return values.Count == 1 ? $"{f(values[0])} (1 seed)" : $"{f(values.Average())} ± {f(Sd(values))} [{f(values.Min())}, {f(values.Max())}]";
    }

    private static double Sd(List<double> values)
    {
        if (values.Count < 2)
        {
            return 0;
        }
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    private static void WriteCsv(string file, IReadOnlyList<RunResult> results)
    {
        var csv = new StringBuilder("table,configuration,seed,task,metric,value,seconds,failure\n");
        string q(string s) => $"\"{s.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
        foreach (var r in results)
        {
            if (r.Failure is not null)
            {
                csv.AppendLine(CultureInfo.InvariantCulture, $"{q(r.Table)},{q(r.Configuration)},{r.Seed},,,,{r.Seconds:0.0},{q(r.Failure)}");
            }
            foreach (var (task, metrics) in r.Metrics)
            {
                foreach (var (metric, value) in metrics)
                {
                    csv.AppendLine(CultureInfo.InvariantCulture, $"{q(r.Table)},{q(r.Configuration)},{r.Seed},{task},{metric},{value.ToString("R", CultureInfo.InvariantCulture)},{r.Seconds:0.0},");
                }
            }
        }
        File.WriteAllText(file, csv.ToString());
    }

    private static string Machine()
    {
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
        double memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{cpu}, {Environment.ProcessorCount} cores, {memory:0} GiB";
    }
}
