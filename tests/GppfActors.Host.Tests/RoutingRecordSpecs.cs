using GppfActors.Actors.Coordinator;
using GppfActors.Host.Training;
using Xunit;

namespace GppfActors.Host.Tests;

/// <summary>The run's routing record: every recorded step once, whatever restarts the run went through.</summary>
public sealed class RoutingRecordSpecs : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("gppf-routing-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Should_hold_each_step_once_when_a_resumed_process_repeats_steps()
    {
        var first = new RoutingRecord(folder, every: 1);
        for (long step = 0; step < 6; step++)
        {
            first.Write(Progress(step, step % 2 == 0 ? "a" : "b", 0.1 * step));
        }
        // A second process resumes from the checkpoint of step 3 and runs steps 3.. again.
        var second = new RoutingRecord(folder, every: 1);
        second.Write(Progress(3, "a", 0.9));
        second.Write(Progress(4, "b", 0.8));

        var lines = File.ReadAllLines(Path.Combine(folder, RoutingRecord.FileName));
        Assert.Equal("step,task,layer,unit0,unit1", lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        // Steps 0-2 of the first process, 3-4 of the second; step 0 knows task a only, later steps both; two layers each.
        Assert.Equal([0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4], rows.Select(r => int.Parse(r[0])));
        Assert.Equal(rows.Count, rows.Select(r => (r[0], r[1], r[2])).Distinct().Count());
        Assert.Equal("0.9", rows.First(r => r[0] == "3" && r[1] == "a")[3]);
        // b has not run in the second process yet: it resumes from its last rows, those of its step 1.
        Assert.Equal("0.1", rows.First(r => r[0] == "3" && r[1] == "b")[3]);
        Assert.Equal("0.8", rows.First(r => r[0] == "4" && r[1] == "b")[3]);
    }

    private static TrainingProgress Progress(long step, string task, double p0) => new(
        step, 1, 1, 0.1, 1.0, new Dictionary<string, double> { [task] = 1.0 }, new Dictionary<string, double>(), 4,
        new Dictionary<string, int> { [task] = 4 }, 0.1, 0.1, 0, [],
        new Dictionary<string, IReadOnlyList<IReadOnlyList<double>>> { [task] = [[p0, 1 - p0], [p0, 1 - p0]] });
}
