using System.Globalization;
using System.Text;
using GppfActors.Actors.Coordinator;

namespace GppfActors.Host.Training;

/// <summary>
/// The run's record of unit selection over training (<c>routing.csv</c> in the run folder), read
/// back by <c>gppf analyze</c> for the selection learning curves (paper, Figure 11). Every
/// <c>every</c> steps one row per task and lego layer: <c>step,task,layer,unit0..unit{N-1}</c>, the
/// probabilities after that step. A task that did not run in the step keeps the probabilities it
/// had after its last step (an unused controller is not updated), so each recorded step holds every
/// task seen so far. Resume-safe: before writing a step at or below one already in the file (a
/// resumed or rolled-back run repeats steps), the rows from that step on are dropped, so each step
/// appears once; tasks this process has not run yet start from their last rows left in the file.
/// </summary>
internal sealed class RoutingRecord
{
    /// <summary>The file's name in the run folder.</summary>
    public const string FileName = "routing.csv";

    private readonly string path;
    private readonly int every;
    private readonly Dictionary<string, IReadOnlyList<IReadOnlyList<double>>> latest = [];
    private long lastWritten = long.MinValue;
    private bool checkedExisting;

    public RoutingRecord(string runDirectory, int every)
    {
        path = Path.Combine(runDirectory, FileName);
        this.every = Math.Max(1, every);
    }

    /// <summary>Notes the step's probabilities; writes the step's rows when it is a recorded step.</summary>
    public void Write(TrainingProgress progress)
    {
        foreach (var (task, layers) in progress.UnitProbabilities)
        {
            latest[task] = layers;
        }
        long done = progress.Step + 1;
        if (done % every != 0 || latest.Count == 0)
        {
            return;
        }
        if (!checkedExisting || progress.Step <= lastWritten)
        {
            DropFrom(progress.Step);
            checkedExisting = true;
        }
        var text = new StringBuilder();
        if (!File.Exists(path))
        {
            int units = latest.Values.First()[0].Count;
            text.Append("step,task,layer,").AppendJoin(',', Enumerable.Range(0, units).Select(k => $"unit{k}")).Append('\n');
        }
        foreach (var (task, layers) in latest.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            for (int l = 0; l < layers.Count; l++)
            {
                text.Append(CultureInfo.InvariantCulture, $"{progress.Step},{task},{l},")
                    .AppendJoin(',', layers[l].Select(p => p.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
            }
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.AppendAllText(path, text.ToString());
        lastWritten = progress.Step;
    }

    // Keeps the header and the rows of steps before `step`; written beside and renamed over, so a
    // crash leaves either the old or the new file.
    private void DropFrom(long step)
    {
        if (!File.Exists(path))
        {
            return;
        }
        var lines = File.ReadAllLines(path);
        var kept = lines.Take(1).Concat(lines.Skip(1).Where(line =>
            long.TryParse(line.AsSpan(0, Math.Max(0, line.IndexOf(',', StringComparison.Ordinal))), NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) && s < step)).ToList();
        if (kept.Count != lines.Length)
        {
            string temporary = path + ".tmp";
            File.WriteAllText(temporary, string.Concat(kept.Select(l => l + "\n")));
            File.Move(temporary, path, overwrite: true);
        }
        // Each task's rows of its last kept step: the probabilities it resumes with.
        foreach (var task in kept.Skip(1).Select(l => l.Split(',')).GroupBy(f => f[1]))
        {
            if (!latest.ContainsKey(task.Key))
            {
                long last = task.Max(f => long.Parse(f[0], CultureInfo.InvariantCulture));
                latest[task.Key] = task.Where(f => long.Parse(f[0], CultureInfo.InvariantCulture) == last)
                    .OrderBy(f => int.Parse(f[2], CultureInfo.InvariantCulture))
                    .Select(f => (IReadOnlyList<double>)f.Skip(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray())
                    .ToArray();
            }
        }
    }
}
