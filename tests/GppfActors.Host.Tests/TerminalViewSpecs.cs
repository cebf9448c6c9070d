using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>
/// What a person at an 80-column terminal sees: the live view redrawn in place, or with
/// <c>--plain</c> the progress lines laid out to fit; the same run through a pipe prints lines.
/// </summary>
public sealed partial class TerminalViewSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    // CSI sequences (cursor movement, erase, colour) and the other escapes a terminal interprets.
    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")]
    private static partial Regex Escapes();

    [GeneratedRegex(@"\x1b\[\d*A")]
    private static partial Regex CursorUp();

    // What the terminal shows as lines: a carriage return starts the line over (the view redraws
    // each frame from its first column), so it separates runs of text as a newline does.
    private static IReadOnlyList<string> VisibleLines(string terminal) =>
        Escapes().Replace(terminal, "").Split('\n', '\r').ToList();

    [Fact]
    public void Should_redraw_a_live_view_in_a_terminal_within_its_80_columns()
    {
        string run = Path.Combine(fixture.Root, "live");
        var result = GppfProcess.RunInTerminal(fixture.Root, fixture.Job(run, 8, 4), columns: 80);
        output.WriteLine(Escapes().Replace(result.Output, ""));

        Assert.True(result.ExitCode == 0, result.Output);
        // Drawn in place: the cursor goes back up over the view to redraw it, many times.
        Assert.True(CursorUp().Matches(result.Output).Count >= 2, "the view was never redrawn in place");
        var lines = VisibleLines(result.Output);
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        string all = string.Join("\n", lines);
        Assert.Contains("gppf train cpu-small", all);
        Assert.Contains("step 8/8 (100%)", all);
        Assert.Contains("checkpoint step 8", all);
        Assert.Matches(@"shapes_cls\s+│?\s*\d+\.\d{3}", all);
        Assert.Contains("final held-out metrics after 8 steps", all);
        // No plain progress line: the view replaced them.
        Assert.DoesNotMatch(@"step\s+\d+/8\s+eta", all);
    }

    [Fact]
    public void Should_print_plain_lines_that_fit_80_columns_with_plain_and_one_line_per_report_through_a_pipe()
    {
        string run = Path.Combine(fixture.Root, "plain");
        var terminal = GppfProcess.RunInTerminal(fixture.Root, [.. fixture.Job(run, 4, 4), "--plain"], columns: 80);
        Assert.True(terminal.ExitCode == 0, terminal.Output);
        var lines = VisibleLines(terminal.Output);
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        Assert.Equal(4, lines.Count(l => Regex.IsMatch(l, @"^step\s+\d+/4\s+eta")));
        Assert.DoesNotContain(lines, l => l.Contains("gppf train cpu-small", StringComparison.Ordinal));

        var piped = GppfProcess.Run(fixture.Root, fixture.Job(Path.Combine(fixture.Root, "piped"), 4, 4));
        Assert.True(piped.ExitCode == 0, piped.Output);
        var reports = piped.Output.Split('\n').Where(l => Regex.IsMatch(l, @"^step\s+\d+/4\s+eta")).ToList();
        Assert.Equal(4, reports.Count);
        // Through a pipe a report stays one line, however many tasks: by the last one every task has a loss on it.
        Assert.All(["shapes_cls", "shapes_det", "shapes_seg"], t => Assert.Matches($@"  loss .*\b{t} \d+\.\d{{3}}", reports[^1]));
    }
}
