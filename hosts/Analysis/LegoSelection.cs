using System.Globalization;
using System.Text;
using GppfActors.Model.Network;

namespace GppfActors.Host.Analysis;

/// <summary>
/// Which unit each task chose in each lego layer of a checkpoint, and with what probability (paper,
/// Figures 3 and 10): one row per task and layer, tasks in the job's order.
/// </summary>
internal sealed class LegoSelection
{
    private LegoSelection(IReadOnlyList<string> tasks, IReadOnlyList<LegoSelectionRow> rows, int numLayers, int numUnits)
    {
        Tasks = tasks;
        Rows = rows;
        NumLayers = numLayers;
        NumUnits = numUnits;
    }

    public IReadOnlyList<string> Tasks { get; }

    public IReadOnlyList<LegoSelectionRow> Rows { get; }

    public int NumLayers { get; }

    public int NumUnits { get; }

    /// <summary>The controllers' selection probabilities of every task of <paramref name="network"/>.</summary>
    public static LegoSelection Of(GppfNetwork network)
    {
        var rows = new List<LegoSelectionRow>();
        foreach (var task in network.TaskNames)
        {
            var layers = network.UnitProbabilities(task);                         // [L][N]
            for (int l = 0; l < layers.Count; l++)
            {
                // Ties go to the lowest unit, as the controller's arg-max does.
                int chosen = 0;
                for (int k = 1; k < layers[l].Count; k++)
                {
                    chosen = layers[l][k] > layers[l][chosen] ? k : chosen;
                }
                rows.Add(new LegoSelectionRow(task, l, chosen, layers[l]));
            }
        }
        return new LegoSelection(network.TaskNames, rows, network.Backbone.NumLayers, network.Config.NumUnits);
    }

    /// <summary><c>task,layer,chosen_unit,chosen_probability,unit0..unit{N-1}</c>.</summary>
    public void WriteCsv(string file)
    {
        var text = new StringBuilder("task,layer,chosen_unit,chosen_probability,")
            .AppendJoin(',', Enumerable.Range(0, NumUnits).Select(k => $"unit{k}")).Append('\n');
        foreach (var r in Rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{r.Task},{r.Layer},{r.Chosen},{Number(r.Probabilities[r.Chosen])},")
                .AppendJoin(',', r.Probabilities.Select(Number)).Append('\n');
        }
        File.WriteAllText(file, text.ToString());
    }

    private static string Number(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}
