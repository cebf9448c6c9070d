using System.Globalization;
using GppfActors.Host.Training;

namespace GppfActors.Host.Analysis;

/// <summary>
/// Each task's unit-selection probabilities per lego layer over training (paper, Figure 11), read
/// back from the run's <see cref="RoutingRecord"/>.
/// </summary>
internal sealed class SelectionHistory
{
    private SelectionHistory(IReadOnlyDictionary<string, TaskSelectionHistory> tasks, int numUnits)
    {
        Tasks = tasks;
        NumUnits = numUnits;
    }

    /// <summary>Per task, in the order the record first names them.</summary>
    public IReadOnlyDictionary<string, TaskSelectionHistory> Tasks { get; }

    public int NumUnits { get; }

    /// <summary>Reads <c>routing.csv</c> of <paramref name="runDirectory"/>; null when the run has none.</summary>
    public static SelectionHistory? Read(string runDirectory)
    {
        string file = Path.Combine(runDirectory, RoutingRecord.FileName);
        if (!File.Exists(file))
        {
            return null;
        }
        var lines = File.ReadAllLines(file);
        if (lines.Length < 2)
        {
            return null;
        }
        int numUnits = lines[0].Split(',').Length - 3;
        var rows = new Dictionary<string, SortedDictionary<long, SortedDictionary<int, double[]>>>();
        var order = new List<string>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var f = line.Split(',');
            if (f.Length != numUnits + 3)
            {
                throw new InvalidDataException($"{file}: a row has {f.Length} fields, the header {numUnits + 3}: '{line}'");
            }
            long step = long.Parse(f[0], CultureInfo.InvariantCulture);
            int layer = int.Parse(f[2], CultureInfo.InvariantCulture);
            if (!rows.TryGetValue(f[1], out var steps))
            {
                rows[f[1]] = steps = [];
                order.Add(f[1]);
            }
            if (!steps.TryGetValue(step, out var layers))
            {
                steps[step] = layers = [];
            }
            layers[layer] = f.Skip(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        }
        var tasks = order.ToDictionary(t => t, t => TaskSelectionHistory.From(rows[t]));
        return new SelectionHistory(tasks, numUnits);
    }
}
