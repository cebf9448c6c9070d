using System.Diagnostics;
using System.Globalization;
using GppfActors.Testing;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>A running `gppf train` scraped over HTTP: the values move as training does.</summary>
public sealed class MetricsProcessSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    private static readonly string[] Tasks = ["shapes_cls", "shapes_det", "shapes_seg"];

    [Fact]
    public async Task Should_serve_metrics_that_move_with_training_when_gppf_train_runs_with_a_metrics_port()
    {
        int port = LoopbackPorts.Free();
        string url = $"http://127.0.0.1:{port}/metrics";
        string run = Path.Combine(fixture.Root, "metrics");
        // Long enough not to end while scraped; the test stops it once it has seen three commits.
        using var process = GppfProcess.Start(fixture.Root, fixture.Job(run, 2000, 10, "--metrics-port", port.ToString(CultureInfo.InvariantCulture)));
        Assert.True(process.WaitForOutput($"metrics: {url}", 60), process.OutputSoFar);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var scrapes = new List<Scrape>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 60 && scrapes.Select(s => s.Get("gppf_checkpoint_last_step")).Distinct().Count(v => v is not null) < 4)
        {
            double sent = clock.Elapsed.TotalSeconds;
            string text = await http.GetStringAsync(url);
            scrapes.Add(new Scrape(sent, clock.Elapsed.TotalSeconds, PrometheusText.Parse(text)));
            await Task.Delay(100);
        }
        output.WriteLine($"{scrapes.Count} scrapes in {clock.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine(process.OutputSoFar);

        // The step counter only grows, and grows.
        var steps = scrapes.Select(s => s.Get("gppf_steps_total") ?? 0).ToList();
        Assert.True(steps.Zip(steps.Skip(1), (a, b) => b >= a).All(ok => ok), string.Join(" ", steps));
        Assert.True(steps[^1] > steps.First(v => v > 0), string.Join(" ", steps));

        // The last committed step grows, and the age falls back after each commit: the commit came
        // after the previous scrape collected, so the age is at most the time between the two.
        var committed = scrapes.Where(s => s.Get("gppf_checkpoint_last_step") is not null).ToList();
        Assert.True(committed.Select(s => s.Get("gppf_checkpoint_last_step")).Distinct().Count() >= 3, "fewer than three commits seen");
        int fallbacks = 0;
        foreach (var (before, after) in committed.Zip(committed.Skip(1)))
        {
            double ageBefore = before.Get("gppf_checkpoint_age_seconds")!.Value, ageAfter = after.Get("gppf_checkpoint_age_seconds")!.Value;
            if (after.Get("gppf_checkpoint_last_step") > before.Get("gppf_checkpoint_last_step"))
            {
                Assert.True(ageAfter <= after.Received - before.Sent, $"age {ageAfter:0.000} s after a commit, scrapes {after.Received - before.Sent:0.000} s apart");
                fallbacks += ageAfter < ageBefore ? 1 : 0;
            }
            else
            {
                Assert.Equal(before.Get("gppf_checkpoint_last_step"), after.Get("gppf_checkpoint_last_step"));
                Assert.True(ageAfter >= ageBefore, $"age went from {ageBefore} to {ageAfter} without a commit");
            }
        }
        Assert.True(fallbacks >= 1, "the age never fell back after a commit");

        var last = scrapes[^1].Samples;
        Assert.All(last, s => Assert.Equal(Environment.MachineName, s.Label("node")));
        // Per task: loss and images, each task named.
        foreach (var task in Tasks)
        {
            Assert.Contains(last, s => s.Name == "gppf_task_loss" && s.Label("task") == task && double.IsFinite(s.Value));
            Assert.Contains(last, s => s.Name == "gppf_task_images_total" && s.Label("task") == task && s.Value > 0);
        }
        // Per device: every part of the step.
        foreach (var device in new[] { "cpu:0", "cpu:1" })
        {
            Assert.Equal(["collective", "data", "forward_backward", "optimizer"],
                last.Where(s => s.Name == "gppf_device_step_seconds_count" && s.Label("device") == device && s.Value > 0).Select(s => s.Label("phase")!).Distinct().Order());
            Assert.Contains(last, s => s.Name == "gppf_collective_bytes_total" && s.Label("device") == device && s.Value > 0);
        }
        // Routing: for every task and layer (5 lego layers of 2 units), the probabilities sum to 1.
        var routing = last.Where(s => s.Name == "gppf_routing_unit_probability").GroupBy(s => (s.Label("task"), s.Label("layer"))).ToList();
        Assert.Equal(Tasks.Length * 5, routing.Count);
        Assert.All(routing, g =>
        {
            Assert.Equal(2, g.Count());
            Assert.Equal(1.0, g.Sum(s => s.Value), 5);
        });
        // Live tensors stay flat per device although rank 0's checkpoint copies are disposed on the
        // writer's thread (a scrape during a write may see them, so the lowest value of each third is compared).
        foreach (var device in new[] { "cpu:0", "cpu:1" })
        {
            var live = scrapes.Select(s => s.Samples.SingleOrDefault(x => x.Name == "gppf_device_live_tensors" && x.Label("device") == device)?.Value)
                .OfType<double>().ToList();
            int third = live.Count / 3;
            Assert.True(third >= 2, $"too few scrapes of {device}'s live tensors: {live.Count}");
            Assert.Equal(live.Skip(third).Take(third).Min(), live.Skip(2 * third).Min());
        }
        Assert.Contains(last, s => s.Name == "gppf_process_resident_memory_bytes" && s.Value > 0);
        Assert.Contains(last, s => s.Name == "gppf_journal_commit_seconds_count" && s.Value >= 3);
    }

    [Fact]
    public async Task Should_label_each_nodes_metrics_with_its_node_when_two_gppf_nodes_train_together()
    {
        int[] ports = LoopbackPorts.Ascending(4);
        var (leaderPort, workerPort, leaderMetrics, workerMetrics) = (ports[0], ports[1], ports[2], ports[3]);
        string run = Path.Combine(fixture.Root, "metrics-cluster");
        using var leader = GppfProcess.Start(fixture.Root, NodeArgs(run, leaderPort, leaderPort, leaderMetrics));
        using var worker = GppfProcess.Start(fixture.Root, NodeArgs(run, workerPort, leaderPort, workerMetrics));
        Assert.True(leader.WaitForOutput("runs on this node", 120), leader.OutputSoFar);
        Assert.True(worker.WaitForOutput($"metrics: http://127.0.0.1:{workerMetrics}/metrics", 30), worker.OutputSoFar);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        IReadOnlyList<PrometheusSample> onLeader = [], onWorker = [];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 120)
        {
            onLeader = PrometheusText.Parse(await http.GetStringAsync($"http://127.0.0.1:{leaderMetrics}/metrics"));
            onWorker = PrometheusText.Parse(await http.GetStringAsync($"http://127.0.0.1:{workerMetrics}/metrics"));
            if (onLeader.Any(s => s.Name == "gppf_steps_total" && s.Value >= 5) && onWorker.Any(s => s.Name == "gppf_device_steps_total"))
            {
                break;
            }
            await Task.Delay(200);
        }
        output.WriteLine(leader.OutputSoFar);

        // Each node labels its metrics with its --listen address; each reports its own device as cpu:0.
        Assert.All(onLeader, s => Assert.Equal($"127.0.0.1:{leaderPort}", s.Label("node")));
        Assert.All(onWorker, s => Assert.Equal($"127.0.0.1:{workerPort}", s.Label("node")));
        Assert.Contains(onLeader, s => s.Name == "gppf_device_steps_total" && s.Label("device") == "cpu:0" && s.Value > 0);
        Assert.Contains(onWorker, s => s.Name == "gppf_device_steps_total" && s.Label("device") == "cpu:0" && s.Value > 0);
        // The coordinator's metrics come from its node only.
        Assert.True(onLeader.Single(s => s.Name == "gppf_steps_total").Value >= 5);
        Assert.Equal(0, onWorker.Single(s => s.Name == "gppf_steps_total").Value);
        Assert.Equal(2, onLeader.Single(s => s.Name == "gppf_devices_live").Value);
        Assert.DoesNotContain(onWorker, s => s.Name == "gppf_devices_live");
    }

    // A node of a two-node cluster with one device, on the fixture's short job.
    private string[] NodeArgs(string run, int port, int seedPort, int metricsPort)
    {
        var job = fixture.Job(run, 2000, 50, "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture))[1..];
        job[Array.IndexOf(job, "--devices") + 1] = "cpu:1";
        return ["node", "--listen", $"127.0.0.1:{port}", "--seeds", $"127.0.0.1:{seedPort}", "--min-nodes", "2", .. job];
    }

    [Fact]
    public void Should_refuse_to_start_naming_the_port_when_the_metrics_port_is_taken()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var result = GppfProcess.Run(fixture.Root, fixture.Job(Path.Combine(fixture.Root, "metrics-taken"), 4, 2, "--metrics-port", port.ToString(CultureInfo.InvariantCulture)));

        output.WriteLine(result.Output);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("cannot start:", result.Output);
        Assert.Contains($"observability.metrics_port (--metrics-port): cannot serve metrics on 127.0.0.1:{port}", result.Output);
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "metrics-taken")), "nothing of the run was started");
    }

    private sealed record Scrape(double Sent, double Received, IReadOnlyList<PrometheusSample> Samples)
    {
        // The value of an unlabelled metric, or null when it is not published.
        public double? Get(string name) => Samples.SingleOrDefault(s => s.Name == name)?.Value;
    }
}
