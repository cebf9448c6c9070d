using System.Globalization;
using ScottPlot;

namespace GppfActors.Host.Analysis;

/// <summary>The figures of <c>gppf analyze</c>, as PNG files (ScottPlot).</summary>
internal static class AnalysisPlots
{
    private static readonly IPalette Units = new ScottPlot.Palettes.Category10();

    /// <summary>
    /// Tasks x lego layers; each cell coloured by the chosen unit, its opacity rising with the
    /// probability, and labelled with the unit and its probability (paper, Figures 3 and 10).
    /// </summary>
    public static void LegoSelection(LegoSelection selection, string title, string file)
    {
        var plot = new Plot();
        int numTasks = selection.Tasks.Count;
        foreach (var row in selection.Rows)
        {
            int t = numTasks - 1 - selection.Tasks.ToList().IndexOf(row.Task);   // the first task on top
            double p = row.Probabilities[row.Chosen];
            double confidence = selection.NumUnits > 1 ? (p - 1.0 / selection.NumUnits) / (1 - 1.0 / selection.NumUnits) : 1;
            var cell = plot.Add.Rectangle(row.Layer - 0.5, row.Layer + 0.5, t - 0.5, t + 0.5);
            cell.FillStyle.Color = Units.GetColor(row.Chosen).WithAlpha(0.2 + 0.8 * Math.Clamp(confidence, 0, 1));
            cell.LineStyle.Color = Colors.White;
            cell.LineStyle.Width = 2;
            var label = plot.Add.Text($"u{row.Chosen}\n{p.ToString("0.00", CultureInfo.InvariantCulture)}", row.Layer, t);
            label.LabelAlignment = Alignment.MiddleCenter;
            label.LabelFontSize = 13;
            label.LabelFontColor = Colors.Black;
        }
        for (int k = 0; k < selection.NumUnits; k++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"unit {k}", FillColor = Units.GetColor(k) });
        }
        plot.Legend.Orientation = Orientation.Horizontal;
        plot.ShowLegend(Edge.Bottom);
        plot.Axes.Bottom.SetTicks(Range(selection.NumLayers), Labels(selection.NumLayers));
        plot.Axes.Left.SetTicks(Range(numTasks), selection.Tasks.Reverse().ToArray());
        plot.Axes.SetLimits(-0.5, selection.NumLayers - 0.5, -0.5, numTasks - 0.5);
        plot.XLabel("lego layer (0 = stem)");
        plot.Title($"{title}\ncell: the chosen unit and its probability (paler = less sure)", size: 15);
        plot.Grid.IsVisible = false;
        plot.SavePng(file, Math.Max(640, 220 + 66 * selection.NumLayers), 220 + 62 * numTasks);
    }

    /// <summary>One panel per lego layer: each unit's selection probability of one task over the recorded steps (paper, Figure 11).</summary>
    public static void SelectionCurves(TaskSelectionHistory history, string task, string file)
    {
        int columns = Math.Min(history.NumLayers, 6);
        int rows = (history.NumLayers + columns - 1) / columns;
        var multiplot = new Multiplot();
        multiplot.AddPlots(history.NumLayers);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        double[] steps = history.Steps.Select(s => (double)s).ToArray();
        for (int l = 0; l < history.NumLayers; l++)
        {
            var plot = multiplot.GetPlot(l);
            for (int k = 0; k < history.Probabilities[l].Count; k++)
            {
                var line = plot.Add.Scatter(steps, history.Probabilities[l][k], Units.GetColor(k));
                line.LegendText = $"unit {k}";
                line.LineWidth = 2;
                line.MarkerSize = steps.Length > 40 ? 0 : 4;
            }
            plot.Axes.SetLimitsY(-0.02, 1.02);
            plot.Title(l == 0 ? $"{task}: layer 0 (stem)" : $"layer {l}", size: 13);
            plot.XLabel("step", size: 11);
            plot.YLabel("probability", size: 11);
            if (l == 0)
            {
                plot.ShowLegend(Alignment.UpperRight);
            }
            else
            {
                plot.HideLegend();
            }
        }
        multiplot.SavePng(file, 240 * columns, 200 * rows);
    }

    /// <summary>
    /// Layer x layer CKA heatmaps side by side with one shared 0-1 colour scale: <paramref name="panels"/>
    /// are (title, [rows, columns] values); layer 0 sits at the bottom left of each panel.
    /// </summary>
    public static void Cka(IReadOnlyList<(string Title, double[,] Values)> panels, string title, string file)
    {
        var plot = new Plot();
        const double gap = 2.5;
        double left = 0;
        ScottPlot.Plottables.Heatmap? last = null;
        var ticks = new List<(double Position, string Label)>();
        int maxRows = panels.Max(p => p.Values.GetLength(0));
        foreach (var (name, values) in panels)
        {
            int numRows = values.GetLength(0), numColumns = values.GetLength(1);
            var heatmap = plot.Add.Heatmap(values);
            heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
            heatmap.ManualRange = new ScottPlot.Range(0, 1);
            heatmap.FlipVertically = true;
            heatmap.Rectangle = new CoordinateRect(left, left + numColumns, 0, numRows);
            var label = plot.Add.Text(name, left + numColumns / 2.0, maxRows + 0.15);
            label.LabelAlignment = Alignment.LowerCenter;
            label.LabelFontSize = 15;
            label.LabelBold = true;
            int every = numColumns > 12 ? 2 : 1;
            for (int j = 0; j < numColumns; j += every)
            {
                ticks.Add((left + j + 0.5, j.ToString(CultureInfo.InvariantCulture)));
            }
            left += numColumns + gap;
            last = heatmap;
        }
        // Named in the title: a colour bar's own label is drawn over its tick labels.
        plot.Add.ColorBar(last!);
        plot.Axes.Bottom.SetTicks(ticks.Select(t => t.Position).ToArray(), ticks.Select(t => t.Label).ToArray());
        int leftRows = panels[0].Values.GetLength(0);
        int leftEvery = leftRows > 12 ? 2 : 1;
        var rowTicks = Enumerable.Range(0, leftRows).Where(i => i % leftEvery == 0).ToArray();
        plot.Axes.Left.SetTicks(rowTicks.Select(i => i + 0.5).ToArray(), rowTicks.Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.SetLimits(-0.3, left - gap + 0.3, -0.3, maxRows * 1.12 + 0.4);
        plot.XLabel("lego layer along the path (0 = stem)");
        plot.YLabel("lego layer");
        plot.Title(title);
        plot.Grid.IsVisible = false;
        int panelPixels = Math.Clamp(24 * maxRows, 260, 460);
        plot.SavePng(file, Math.Max(640, 170 + panels.Count * (panelPixels + 50)), panelPixels + 170);
    }

    private static double[] Range(int count) => Enumerable.Range(0, count).Select(i => (double)i).ToArray();

    private static string[] Labels(int count) => Enumerable.Range(0, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
}
