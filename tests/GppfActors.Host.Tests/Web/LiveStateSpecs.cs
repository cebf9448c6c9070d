using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Host.Web;
using Xunit;

namespace GppfActors.Host.Tests.Web;

/// <summary>The live view's state without a server or a browser: rate, ETA, bounded histories, routing cells.</summary>
public sealed class LiveStateSpecs
{
    private double now;

    private LiveState State(long maxSteps = 100) =>
        new(new LiveJob("j", "this process", maxSteps, ["cls", "det"], NumLayers: 3, NumUnits: 2), hostsTraining: true, () => now);

    private static TrainingProgress Progress(long step, double clsLoss = 1.0, Dictionary<string, IReadOnlyList<IReadOnlyList<double>>>? routing = null) => new(step, 1, 2, 0.1, 1.0,
        new Dictionary<string, double> { ["cls"] = clsLoss }, new Dictionary<string, double>(), 8, new Dictionary<string, int> { ["cls"] = 8 }, 0.5, 0.4, 0.1,
        [new DeviceStep("cpu:0", "", "cls", 0.4), new DeviceStep("cpu:1", "", "det", 0.3)], routing ?? []);

    private static IReadOnlyList<IReadOnlyList<double>> Probabilities(params double[] firstUnit) =>
        [.. firstUnit.Select(p => (IReadOnlyList<double>)[p, 1 - p])];

    [Fact]
    public void Should_measure_the_step_rate_over_the_window_and_give_the_eta_of_the_remaining_steps()
    {
        var state = State(maxSteps: 100);
        Assert.Null(state.Snapshot().StepsPerSecond);
        for (int step = 1; step <= 10; step++)
        {
            now = step * 0.5;                               // two steps a second
            state.Apply(Progress(step));
        }
        var snapshot = state.Snapshot();
        Assert.Equal(2.0, snapshot.StepsPerSecond!.Value, 9);
        Assert.Equal(45.0, snapshot.EtaSeconds!.Value, 9);  // 90 steps left at 2 per second
        Assert.Equal(16.0, snapshot.ImagesPerSecond!.Value, 9);   // 8 images a step
        Assert.Equal("training", snapshot.Status);
        Assert.Equal(["cpu:0", "cpu:1"], snapshot.Devices.Select(d => d.Device));
        Assert.Equal("det", snapshot.Devices[1].Task);
    }

    [Fact]
    public void Should_follow_a_slowdown_when_the_window_has_moved_past_the_fast_steps()
    {
        var state = State();
        long step = 0;
        for (int i = 0; i < LiveState.RateWindow; i++)
        {
            now += 0.1;
            state.Apply(Progress(++step));
        }
        for (int i = 0; i < LiveState.RateWindow; i++)
        {
            now += 1.0;
            state.Apply(Progress(++step));
        }
        Assert.Equal(1.0, state.Snapshot().StepsPerSecond!.Value, 9);
    }

    [Fact]
    public void Should_keep_only_the_latest_losses_and_events_when_a_run_is_long()
    {
        var state = State(maxSteps: 10_000);
        for (int step = 1; step <= LiveState.MaxLossPoints + 25; step++)
        {
            now = step;
            state.Apply(Progress(step, clsLoss: step));
            state.Apply(new MembershipChanged(step, 2, "test", StepDiscarded: false));
        }
        var snapshot = state.Snapshot();
        var cls = snapshot.Loss["cls"];
        Assert.Equal(LiveState.MaxLossPoints, cls.Count);
        Assert.Equal(26, cls[0].Step);
        Assert.Equal(LiveState.MaxLossPoints + 25, cls[^1].Loss);
        Assert.Empty(snapshot.Loss["det"]);
        Assert.Equal(LiveState.MaxEvents, snapshot.Events.Count);
        Assert.Contains($"epoch {LiveState.MaxLossPoints + 25}:", snapshot.Events[0].Text);   // newest first
    }

    [Fact]
    public void Should_give_one_cell_per_task_and_layer_with_the_chosen_unit_when_routing_arrives()
    {
        var state = State();
        state.Apply(new EvaluationReport(5, new Dictionary<string, IReadOnlyDictionary<string, double>>(),
            new Dictionary<string, IReadOnlyList<IReadOnlyList<double>>> { ["cls"] = Probabilities(0.9, 0.2, 0.5), ["det"] = Probabilities(0.3, 0.6, 0.7) },
            new Dictionary<string, string>()));
        var snapshot = state.Snapshot();
        Assert.Equal(5, snapshot.RoutingStep);
        Assert.Equal(6, snapshot.Routing.Count);
        var cls = snapshot.Routing.Where(c => c.Task == "cls").OrderBy(c => c.Layer).ToList();
        Assert.Equal([0, 1, 0], cls.Select(c => c.Unit));
        Assert.Equal([0.9, 0.8, 0.5], cls.Select(c => c.Probability), new ToleranceComparer(1e-12));
        Assert.Equal("evaluation", snapshot.Events.Single().Kind);
    }

    [Fact]
    public void Should_update_the_routing_of_the_tasks_that_ran_after_every_step()
    {
        var state = State();
        state.Apply(Progress(3, routing: new() { ["cls"] = Probabilities(0.9, 0.2, 0.5) }));
        state.Apply(Progress(4, routing: new() { ["det"] = Probabilities(0.3, 0.6, 0.7) }));
        state.Apply(Progress(5, routing: new() { ["cls"] = Probabilities(0.1, 0.2, 0.6) }));
        var snapshot = state.Snapshot();
        Assert.Equal(6, snapshot.RoutingStep);   // the probabilities after step index 5: six steps done
        var cls = snapshot.Routing.Where(c => c.Task == "cls").OrderBy(c => c.Layer).ToList();
        Assert.Equal([1, 1, 0], cls.Select(c => c.Unit));
        Assert.All(cls, c => Assert.Equal(6, c.Step));
        Assert.Equal([0.9, 0.8, 0.6], cls.Select(c => c.Probability), new ToleranceComparer(1e-12));
        Assert.All(snapshot.Routing.Where(c => c.Task == "det"), c => Assert.Equal(5, c.Step));
    }

    [Fact]
    public void Should_keep_the_newest_routing_when_an_older_step_arrives_late()
    {
        var state = State();
        state.UpdateRouting(8, "cls", Probabilities(0.9, 0.9, 0.9));
        state.UpdateRouting(6, "cls", Probabilities(0.1, 0.1, 0.1));
        state.UpdateRouting(9, "det", Probabilities(0.4, 0.4, 0.4));
        var snapshot = state.Snapshot();
        Assert.Equal(9, snapshot.RoutingStep);
        Assert.All(snapshot.Routing.Where(c => c.Task == "cls"), c => Assert.Equal((8L, 0), (c.Step, c.Unit)));
        Assert.Equal(["cls", "det"], snapshot.Routing.Select(c => c.Task).Distinct());   // the job's task order
    }

    [Fact]
    public void Should_say_training_is_elsewhere_until_a_training_event_reaches_a_cluster_node()
    {
        var state = new LiveState(new LiveJob("j", "10.0.0.2:4053", 100, ["cls"], 3, 2), hostsTraining: false);
        state.ReadMembersFrom(() => [new LiveMember("10.0.0.1:4053", "up", Self: false, Coordinator: true, Reachable: true)]);
        state.Apply(new ClusterConfig.Node.NodeLog("node 10.0.0.1:4053 joined"));
        Assert.False(state.Snapshot().HostsTraining);
        Assert.True(state.Snapshot().Members.Single().Coordinator);
        state.Apply(new CheckpointSaved(new CheckpointRecord(10, 1, "/runs/a/step-00000010", new string('a', 64), 2_000_000, DateTime.UnixEpoch)));
        var snapshot = state.Snapshot();
        Assert.True(snapshot.HostsTraining);
        Assert.Equal("checkpoint of step 10 committed (2.0 MB)", snapshot.Events[0].Text);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
