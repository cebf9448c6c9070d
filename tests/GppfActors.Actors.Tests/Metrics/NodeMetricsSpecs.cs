using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Metrics;
using GppfActors.Testing;
using Xunit;

namespace GppfActors.Actors.Tests.Metrics;

public class NodeMetricsSpecs
{
    [Fact]
    public async Task Should_count_steps_images_and_keep_each_tasks_last_loss_and_routing_when_progress_is_observed()
    {
        var metrics = new NodeMetrics("node-a");

        metrics.Observe(Progress(step: 4, loss: new() { ["cls"] = 2.0, ["det"] = 3.0 }, samples: new() { ["cls"] = 16, ["det"] = 4 }, seconds: 0.5,
            routing: new() { ["cls"] = [[0.25, 0.75], [0.5, 0.5]] }));
        metrics.Observe(Progress(step: 5, loss: new() { ["cls"] = 1.5 }, samples: new() { ["cls"] = 32 }, seconds: 0.25,
            routing: new() { ["cls"] = [[0.125, 0.875], [0.5, 0.5]] }));

        var s = await Scrape(metrics);
        Assert.All(s, x => Assert.Equal("node-a", x.Label("node")));
        Assert.Equal(2, Value(s, "gppf_steps_total"));
        Assert.Equal(6, Value(s, "gppf_step"));
        Assert.Equal(1.5, Value(s, "gppf_task_loss", ("task", "cls")));
        Assert.Equal(3.0, Value(s, "gppf_task_loss", ("task", "det")));
        Assert.Equal(48, Value(s, "gppf_task_images_total", ("task", "cls")));
        Assert.Equal(128, Value(s, "gppf_task_images_per_second", ("task", "cls")));
        Assert.Equal(0.875, Value(s, "gppf_routing_unit_probability", ("task", "cls"), ("layer", "0"), ("unit", "1")));
        Assert.Equal(2, Value(s, "gppf_step_seconds_count"));
        Assert.Equal((7, 2), (Value(s, "gppf_membership_epoch"), Value(s, "gppf_devices_live")));
    }

    [Fact]
    public async Task Should_count_discarded_and_nonfinite_steps_apart_when_membership_changes_and_steps_are_skipped()
    {
        var metrics = new NodeMetrics("node-a");

        metrics.Observe(new MembershipChanged(2, 3, "a device restarted", StepDiscarded: false));
        metrics.Observe(new MembershipChanged(3, 2, "step 9 failed; discarded", StepDiscarded: true));
        metrics.Observe(new StepSkipped(9, 3, 1, ["det"], 1, 1));

        var s = await Scrape(metrics);
        Assert.Equal(1, Value(s, "gppf_steps_discarded_total"));
        Assert.Equal(1, Value(s, "gppf_steps_nonfinite_skipped_total"));
        Assert.Equal(1, Value(s, "gppf_steps_total"));
        Assert.Equal((3, 2), (Value(s, "gppf_membership_epoch"), Value(s, "gppf_devices_live")));
    }

    [Fact]
    public async Task Should_publish_the_checkpoint_step_and_age_only_once_a_checkpoint_is_committed()
    {
        var metrics = new NodeMetrics("node-a");
        var before = await Scrape(metrics);
        Assert.DoesNotContain(before, x => x.Name is "gppf_checkpoint_last_step" or "gppf_checkpoint_age_seconds");

        metrics.Observe(new CheckpointSaved(new CheckpointRecord(40, 1, "/runs/a/step-00000040", new string('a', 64), 1234, DateTime.UtcNow)));
        var first = await Scrape(metrics);
        await Task.Delay(200);
        var later = await Scrape(metrics);

        Assert.Equal(40, Value(first, "gppf_checkpoint_last_step"));
        Assert.Equal(1234, Value(first, "gppf_checkpoint_last_bytes"));
        Assert.InRange(Value(first, "gppf_checkpoint_age_seconds"), 0, 5);
        Assert.True(Value(later, "gppf_checkpoint_age_seconds") >= Value(first, "gppf_checkpoint_age_seconds") + 0.15, "the age grows between scrapes");
    }

    [Fact]
    public async Task Should_keep_each_nodes_values_apart_when_two_nodes_share_a_process()
    {
        var (a, b) = (new NodeMetrics("node-a"), new NodeMetrics("node-b"));

        // A cluster node's device: the node label already names the node, the device label is local.
        a.DeviceStep(new DeviceId("cpu", 1) { Node = "10.0.0.2:4053" }, "cls", new StepTimings(0.01, 0.2, 0.03, 0.004), new DeviceCounters(4096, 0.02, 1, 300));

        var s = await Scrape(a);
        Assert.Equal(["collective", "data", "forward_backward", "optimizer"],
            s.Where(x => x.Name == "gppf_device_step_seconds_count" && x.Label("device") == "cpu:1" && x.Label("task") == "cls").Select(x => x.Label("phase")).Order());
        Assert.Equal(0.2, Value(s, "gppf_device_step_seconds_sum", ("phase", "forward_backward")));
        Assert.Equal(4096, Value(s, "gppf_collective_bytes_total", ("device", "cpu:1")));
        Assert.Equal(300, Value(s, "gppf_device_live_tensors", ("device", "cpu:1")));
        Assert.DoesNotContain(await Scrape(b), x => x.Name == "gppf_device_steps_total");
    }

    private static TrainingProgress Progress(long step, Dictionary<string, double> loss, Dictionary<string, int> samples, double seconds,
        Dictionary<string, IReadOnlyList<IReadOnlyList<double>>> routing) =>
        new(step, 7, 2, 0.1, 1.0, loss, new Dictionary<string, double>(), samples.Values.Sum(), samples, seconds, seconds, 0.01, [], routing);

    private static async Task<IReadOnlyList<PrometheusSample>> Scrape(NodeMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        return PrometheusText.Parse(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static double Value(IReadOnlyList<PrometheusSample> samples, string name, params (string Key, string Value)[] labels) =>
        Assert.Single(samples, x => x.Name == name && labels.All(l => x.Label(l.Key) == l.Value)).Value;
}
