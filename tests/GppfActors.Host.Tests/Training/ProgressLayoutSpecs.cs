using System.Globalization;
using GppfActors.Actors.Coordinator;
using GppfActors.Host.Training;
using Spectre.Console;
using Xunit;

namespace GppfActors.Host.Tests.Training;

public sealed class ProgressLayoutSpecs
{
    // The paper-r50 job's eight tasks: the longest set of names a run prints.
    private static readonly string[] PaperTasks =
        ["imagenet21k_cls", "objects365_det", "openimages_det", "coco_det", "lvis_det", "ade20k_seg", "coco_stuff_seg", "voc_seg"];

    private static ProgressLine Line(long done, IEnumerable<string> tasks) =>
        new(done - 1, done, 1_000_000, TimeSpan.FromSeconds(3725), 0.0481, 3.25, 412, 16, 3,
            tasks.Select((t, i) => (t, 1.0 / (i + 2))).ToDictionary(x => x.t, x => x.Item2));

    [Fact]
    public void Should_fit_a_progress_report_of_eight_tasks_into_80_columns_and_keep_every_loss()
    {
        var view = new ProgressView(1_000_000, 0, 10, AnsiConsole.Console, 1);
        var lines = view.Layout(Line(123_456, PaperTasks), 80).Select(Markup.Remove).ToList();

        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        Assert.StartsWith("step 123456/1000000", lines[0]);
        string all = string.Join("\n", lines);
        Assert.Contains("eta 01:02:05", all);
        Assert.Contains("devices 16", all);
        for (int i = 0; i < PaperTasks.Length; i++)
        {
            string loss = $"{PaperTasks[i]} {(1.0 / (i + 2)).ToString("0.000", CultureInfo.InvariantCulture)}";
            Assert.Single(lines, l => l.Contains(loss, StringComparison.Ordinal));
        }
        Assert.True(lines.Count >= 3, string.Join("\n", lines));
    }

    [Fact]
    public void Should_print_one_line_when_it_fits()
    {
        var view = new ProgressView(100, 0, 10, AnsiConsole.Console, 1);
        var lines = view.Layout(Line(10, ["shapes_cls", "shapes_det"]) with { MaxSteps = 100 }, 4096);

        string line = Markup.Remove(Assert.Single(lines));
        Assert.Equal("step     10/100  eta 01:02:05  lr 0.0481  tau 3.250    412 img/s  devices 16  loss shapes_cls 0.500  shapes_det 0.333", line);
    }

    [Fact]
    public void Should_draw_the_live_view_within_80_columns_with_steps_tasks_checkpoint_and_messages()
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = 80;
        var dashboard = new TerminalDashboard("gppf train paper-r50", 100, 0, 2);
        for (long step = 0; step < 3; step++)
        {
            dashboard.Progress(new TrainingProgress(step, 1, 8, 0.05, 4.5, PaperTasks.ToDictionary(t => t, _ => 0.75), new Dictionary<string, double>(), 32,
                PaperTasks.ToDictionary(t => t, _ => 4), 0.5, 0.4, 0.01,
                PaperTasks.Select((t, i) => new DeviceStep($"cpu:{i}", "", t, 0.4)).ToList(), new Dictionary<string, IReadOnlyList<IReadOnlyList<double>>>()));
        }
        dashboard.Checkpoint(3, 12_300_000);
        dashboard.Message("[blue]epoch 2[/]: 7 device(s) - cpu:7 failed");

        console.Write(dashboard.Render());
        var lines = text.ToString().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();

        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        string all = string.Join("\n", lines);
        Assert.Contains("gppf train paper-r50", all);
        Assert.Contains("step 3/100 (3%)", all);
        Assert.Contains("epoch 1, 8 device(s)", all);
        Assert.Contains("checkpoint step 3 (12.3 MB", all);
        Assert.Contains("epoch 2: 7 device(s) - cpu:7 failed", all);
        // Each task's row: its name, smoothed loss and the samples of three steps.
        Assert.All(PaperTasks, t => Assert.Matches($@"{t}\s+0\.750\s+12\b", all));
    }
}
