using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>
/// <c>--log-format json</c>: everything the program writes is one JSON object per line, each with
/// node, epoch and step; the run's events carry their values as properties; Akka's own log (here
/// the coordinator's warnings about skipped steps) arrives in the same format, not as Akka's text.
/// </summary>
public sealed class JsonLogProcessSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    [Fact]
    public void Should_write_every_line_as_a_json_object_with_node_epoch_and_step_and_the_events_values_as_properties()
    {
        string run = Path.Combine(fixture.Root, "json-log");
        var result = GppfProcess.Run(fixture.Root, [.. fixture.Job(run, 6, 3), "--log-format", "json"]);
        output.WriteLine(result.Output);
        Assert.True(result.ExitCode == 0, result.Output);
        var lines = ParseLines(result.Output);

        // Progress: one event per step (report-every 1), its step the count of steps done, its
        // losses an object keyed by task, in the epoch the devices formed.
        var progress = lines.Where(l => l.TryGetProperty("done", out _) && l.TryGetProperty("loss", out _)).ToList();
        Assert.Equal([1L, 2, 3, 4, 5, 6], progress.Select(l => l.GetProperty("step").GetInt64()));
        Assert.All(progress, l => Assert.Equal(JsonValueKind.Object, l.GetProperty("loss").ValueKind));
        Assert.All(progress, l => Assert.Equal(1, l.GetProperty("epoch").GetInt64()));
        Assert.Contains(progress.SelectMany(l => l.GetProperty("loss").EnumerateObject()), p => p.Name == "shapes_cls" && p.Value.GetDouble() > 0);

        // Checkpoints at steps 3 and 6, with their size; the final metrics per task.
        var checkpoints = lines.Where(l => l.TryGetProperty("checkpointStep", out _)).ToList();
        Assert.Equal([3L, 6], checkpoints.Select(l => l.GetProperty("checkpointStep").GetInt64()));
        Assert.All(checkpoints, l => Assert.True(l.GetProperty("bytes").GetInt64() > 0));
        var finished = Assert.Single(lines, l => l.GetProperty("@m").GetString()!.StartsWith("training finished", StringComparison.Ordinal));
        Assert.True(finished.GetProperty("metrics").GetProperty("shapes_cls").GetProperty("top1").GetDouble() >= 0);

        // Before the first step there is no epoch or step yet; afterwards every line has both.
        Assert.Equal(JsonValueKind.Null, lines[0].GetProperty("step").ValueKind);
        int first = lines.FindIndex(l => l.GetProperty("step").ValueKind == JsonValueKind.Number);
        Assert.True(first > 0);
        Assert.All(lines.Skip(lines.FindIndex(l => l.TryGetProperty("done", out _))), l =>
        {
            Assert.Equal(JsonValueKind.Number, l.GetProperty("epoch").ValueKind);
            Assert.Equal(JsonValueKind.Number, l.GetProperty("step").ValueKind);
        });
    }

    [Fact]
    public void Should_route_akkas_own_log_into_the_json_lines()
    {
        // A learning rate of 1e30 makes every step non-finite: the coordinator logs a warning
        // through Akka's logging for each skipped step.
        string run = Path.Combine(fixture.Root, "json-akka");
        var result = GppfProcess.Run(fixture.Root, [.. fixture.Job(run, 4, 0, "--set", "optimizer.lr=1e30", "--set", "optimizer.warmup_steps=0"), "--log-format", "json"]);
        output.WriteLine(result.Output);
        var lines = ParseLines(result.Output);

        var akka = lines.Where(l => l.TryGetProperty("SourceContext", out var c) && c.GetString() == "Akka.TrainingCoordinator").ToList();
        Assert.NotEmpty(akka);
        Assert.All(akka, l =>
        {
            Assert.Equal("Warning", l.GetProperty("@l").GetString());
            Assert.Equal("akka://gppf/user/training-coordinator", l.GetProperty("source").GetString());
            Assert.Contains("skipped on every replica", l.GetProperty("message").GetString());
            Assert.Equal(JsonValueKind.Number, l.GetProperty("epoch").ValueKind);
            Assert.Equal(JsonValueKind.Number, l.GetProperty("step").ValueKind);
        });
        // The host's own event for the same skips is there too, as a warning with its counts.
        Assert.Contains(lines, l => l.TryGetProperty("nonFiniteRanks", out var n) && n.GetInt32() > 0 && l.GetProperty("@l").GetString() == "Warning");
    }

    // Every line of the output must be one JSON object with the fields every line carries.
    private static List<JsonElement> ParseLines(string text)
    {
        var lines = new List<JsonElement>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            JsonElement element;
            try
            {
                element = JsonDocument.Parse(line).RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new Xunit.Sdk.XunitException($"not a JSON line ({e.Message}): {line}");
            }
            Assert.Equal(JsonValueKind.Object, element.ValueKind);
            foreach (var field in new[] { "@t", "@m", "node", "epoch", "step" })
            {
                Assert.True(element.TryGetProperty(field, out _), $"no '{field}' in {line}");
            }
            lines.Add(element);
        }
        Assert.NotEmpty(lines);
        return lines;
    }
}
