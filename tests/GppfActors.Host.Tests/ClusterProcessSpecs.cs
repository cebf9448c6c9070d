using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using GppfActors.Actors.Checkpointing;
using GppfActors.Testing;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>
/// `gppf node` processes on 127.0.0.1 forming an Akka.Cluster whose collectives meet over TCP: a
/// worker killed with SIGKILL mid-step costs at most that step, the survivors end bit-identical, the
/// killed node restarted with the same command rejoins; and two processes train the same bits as
/// one process with two devices.
/// </summary>
public sealed partial class ClusterProcessSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    // Shorter than the documented 3 s / 5 s so the test is quick; bench/GppfActors.Bench.Cluster
    // measures recovery with the documented settings.
    private static readonly string[] FastDetection = ["--failure-detection-seconds", "2", "--stable-after-seconds", "2"];

    private static readonly string[] SameThreads = ["--set", "train.intra_op_threads=1"];

    private string[] Node(string run, int port, int seedPort, int minNodes, long maxSteps, int every, params string[] extra) =>
    [
        "node", "--listen", $"127.0.0.1:{port}", "--seeds", $"127.0.0.1:{seedPort}", "--min-nodes", minNodes.ToString(CultureInfo.InvariantCulture),
        "--job", "cpu-small", "--devices", "cpu:1", "--report-every", "1",
        "--set", $"data.root={fixture.Data}", "--set", "data.generate_if_missing=false",
        "--set", $"checkpoint.dir={run}", "--set", $"checkpoint.every_steps={every}", "--set", "checkpoint.keep_last=1000",
        "--set", $"train.max_steps={maxSteps}", "--set", "eval.every_steps=0", "--set", "eval.batches=1",
        "--set", "optimizer.warmup_steps=2", "--set", "routing.tau_decay_steps=20",
        .. (extra.Contains("--stable-after-seconds") ? FastDetection[..2] : FastDetection), .. extra,
    ];

    [Fact]
    public void Should_finish_with_identical_replicas_when_a_worker_is_killed_mid_step_and_rejoin_when_restarted()
    {
        string run = Path.Combine(fixture.Root, "cluster-kill");
        int[] ports = Ports(3);
        const long Steps = 24;
        using var leader = GppfProcess.Start(fixture.Root, Node(run, ports[0], ports[0], 3, Steps, 6));
        using var worker = GppfProcess.Start(fixture.Root, Node(run, ports[1], ports[0], 3, Steps, 6));
        var victim = GppfProcess.Start(fixture.Root, Node(run, ports[2], ports[0], 3, Steps, 6));
        GppfProcess? restarted = null;
        try
        {
            Assert.True(leader.WaitForOutput("runs on this node", 240), leader.OutputSoFar);
            // Killed from here at a seeded random moment: a fraction of a step after step k.
            var random = new Random(20261201);
            long k = 3 + random.Next(4);
            Assert.True(leader.WaitForMatch(new Regex($@"step\s+{k}/{Steps}"), 240), leader.OutputSoFar);
            Thread.Sleep(TimeSpan.FromSeconds(random.NextDouble() * 0.5));   // the random moment itself
            var clock = Stopwatch.StartNew();
            victim.KillHard();
            Assert.True(victim.WaitForExit(30).KilledBySigkill);

            // The survivors form a two-device epoch and apply the next step.
            Assert.True(leader.WaitForMatch(TwoDeviceEpoch(), 120), leader.OutputSoFar);
            int epochAt = TwoDeviceEpoch().Match(leader.OutputSoFar).Index;
            Assert.True(Poll.Until(() => ProgressPattern().IsMatch(leader.OutputSoFar[epochAt..]), 120), leader.OutputSoFar);
            double recovery = clock.Elapsed.TotalSeconds;
            output.WriteLine($"kill -9 of a worker after step {k} -> next applied step: {recovery:0.0} s (failure detection 2 s, stable-after 2 s)");
            Assert.Contains("unreachable; its 1 device(s) are suspended", leader.OutputSoFar);
            Assert.True(recovery < 60, $"recovery took {recovery:0.0} s");

            // The killed node, started again with the same command, rejoins and the world is 3 again.
            restarted = GppfProcess.Start(fixture.Root, Node(run, ports[2], ports[0], 3, Steps, 6));
            Assert.True(Poll.Until(() => CountMatches(leader.OutputSoFar, @"epoch \d+: 3 device\(s\)") >= 2, 180), leader.OutputSoFar);

            var leaderResult = leader.WaitForExit(300);
            output.WriteLine(leaderResult.Output);
            Assert.True(leaderResult.ExitCode == 0, leaderResult.Output);
            Assert.True(worker.WaitForExit(60).ExitCode == 0, worker.OutputSoFar);
            var rejoined = restarted.WaitForExit(60);
            Assert.True(rejoined.ExitCode == 0, rejoined.Output);

            // Every step applied exactly once, survivors and the rejoined node bit-identical, the final checkpoint intact.
            Assert.Equal(Enumerable.Range(1, (int)Steps).Select(i => (long)i), ProgressLines(leaderResult.Output).Select(StepOf).Distinct());
            Assert.Matches(@"replicas identical: 3 device\(s\)", leaderResult.Output);
            using var final = CheckpointReader.Load(Path.Combine(run, CheckpointLayout.DirectoryName(Steps)));
            Assert.Equal(Steps, final.Step);
        }
        finally
        {
            victim.Dispose();
            restarted?.Dispose();
        }
    }

    [Fact]
    public void Should_continue_on_a_new_coordinator_losing_at_most_the_step_in_flight_when_the_coordinators_node_is_killed()
    {
        string run = Path.Combine(fixture.Root, "cluster-coordinator-kill");
        int[] ports = Ports(3);
        const long Steps = 16;
        var coordinatorNode = GppfProcess.Start(fixture.Root, Node(run, ports[0], ports[0], 3, Steps, 5));
        using var heir = GppfProcess.Start(fixture.Root, Node(run, ports[1], ports[0], 3, Steps, 5));
        using var worker = GppfProcess.Start(fixture.Root, Node(run, ports[2], ports[0], 3, Steps, 5));
        try
        {
            Assert.True(coordinatorNode.WaitForOutput("runs on this node", 240), coordinatorNode.OutputSoFar);
            // Killed from here at a seeded random moment: a fraction of a step after step k.
            var random = new Random(20261202);
            long k = 4 + random.Next(4);
            Assert.True(coordinatorNode.WaitForMatch(new Regex($@"step\s+{k}/{Steps}"), 240), coordinatorNode.OutputSoFar);
            Thread.Sleep(TimeSpan.FromSeconds(random.NextDouble() * 0.5));
            var clock = Stopwatch.StartNew();
            coordinatorNode.KillHard();
            var killed = coordinatorNode.WaitForExit(30);
            Assert.True(killed.KilledBySigkill);
            long lastReported = ProgressLines(killed.Output).Select(StepOf).DefaultIfEmpty(0).Max();

            // The next-oldest node takes over from the devices' state, without reading a checkpoint.
            Assert.True(heir.WaitForMatch(Continuing(), 120), heir.OutputSoFar);
            var continuing = Continuing().Match(heir.OutputSoFar);
            long resumedAt = long.Parse(continuing.Groups[1].Value, CultureInfo.InvariantCulture);
            int lost = int.Parse(continuing.Groups[2].Value, CultureInfo.InvariantCulture);
            Assert.True(Poll.Until(() => ProgressPattern().IsMatch(heir.OutputSoFar[continuing.Index..]), 120), heir.OutputSoFar);
            double failover = clock.Elapsed.TotalSeconds;
            output.WriteLine($"kill -9 of the coordinator's node after step {lastReported} -> next applied step on the new coordinator: {failover:0.0} s; " +
                $"continued at step {resumedAt}, steps lost {lost} (failure detection 2 s, stable-after 2 s)");
            output.WriteLine(heir.OutputSoFar);
            Assert.True(lost <= 1, $"{lost} steps lost");
            Assert.True(resumedAt >= lastReported, $"the dead coordinator reported {lastReported} steps done, the new one continued at step {resumedAt}");
            Assert.True(failover < 60, $"failover took {failover:0.0} s");

            var heirResult = heir.WaitForExit(300);
            output.WriteLine(heirResult.Output);
            Assert.True(heirResult.ExitCode == 0, heirResult.Output);
            Assert.True(worker.WaitForExit(60).ExitCode == 0, worker.OutputSoFar);
            // The survivors applied every step after the takeover once and end bit-identical; the final checkpoint is committed.
            string after = heirResult.Output[continuing.Index..];
            Assert.Equal(Enumerable.Range((int)resumedAt + 1, (int)(Steps - resumedAt)).Select(i => (long)i), ProgressLines(after).Select(StepOf).Distinct());
            Assert.Matches(@"replicas identical: 2 device\(s\)", heirResult.Output);
            Assert.Contains("coordinator of job", worker.OutputSoFar);
            using var final = CheckpointReader.Load(Path.Combine(run, CheckpointLayout.DirectoryName(Steps)));
            Assert.Equal(Steps, final.Step);
        }
        finally
        {
            coordinatorNode.Dispose();
        }
    }

    [Fact]
    public void Should_suspend_a_frozen_worker_and_take_it_back_without_removal_when_it_runs_again()
    {
        // The resolver waits 60 s before downing, so the frozen node is unreachable, never removed.
        string run = Path.Combine(fixture.Root, "cluster-freeze");
        int[] ports = Ports(3);
        const long Steps = 12;
        string[] patient = ["--stable-after-seconds", "60"];
        using var leader = GppfProcess.Start(fixture.Root, Node(run, ports[0], ports[0], 3, Steps, 0, patient));
        using var worker = GppfProcess.Start(fixture.Root, Node(run, ports[1], ports[0], 3, Steps, 0, patient));
        using var frozen = GppfProcess.Start(fixture.Root, Node(run, ports[2], ports[0], 3, Steps, 0, patient));
        string name = $"127.0.0.1:{ports[2]}";
        Assert.True(leader.WaitForMatch(new Regex($@"step\s+3/{Steps}"), 240), leader.OutputSoFar);

        frozen.Freeze();
        try
        {
            Assert.True(leader.WaitForOutput($"node {name} is unreachable", 60), leader.OutputSoFar);
            Assert.True(leader.WaitForOutput("device(s) are suspended until it comes back or is removed", 30), leader.OutputSoFar);
            Thread.Sleep(TimeSpan.FromSeconds(2));
        }
        finally
        {
            frozen.Thaw();
        }
        Assert.True(leader.WaitForOutput($"node {name} is reachable again", 60), leader.OutputSoFar);

        var result = leader.WaitForExit(300);
        output.WriteLine(result.Output);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.True(worker.WaitForExit(60).ExitCode == 0, worker.OutputSoFar);
        Assert.True(frozen.WaitForExit(60).ExitCode == 0, frozen.OutputSoFar);
        Assert.Contains("rejoin at the next step boundary", result.Output);
        // No epoch was formed without it, it was never removed, and every step was applied once by all three.
        Assert.DoesNotMatch(TwoDeviceEpoch(), result.Output);
        Assert.DoesNotContain($"node {name} was removed", result.Output);
        Assert.Equal(Enumerable.Range(1, (int)Steps).Select(i => (long)i), ProgressLines(result.Output).Select(StepOf).Distinct());
        Assert.Matches(@"replicas identical: 3 device\(s\)", result.Output);
    }

    [Fact]
    public void Should_end_byte_identical_to_a_two_device_single_process_run_when_two_processes_train()
    {
        // Two ranks sum a + b == b + a bit for bit, so the TCP ring reproduces the in-process group.
        // libtorch's reductions depend on its intra-op thread count: the reference and the nodes use one.
        string run = Path.Combine(fixture.Root, "cluster-two");
        int[] ports = Ports(2);
        using var first = GppfProcess.Start(fixture.Root, Node(run, ports[0], ports[0], 2, 16, 4, SameThreads));
        using var second = GppfProcess.Start(fixture.Root, Node(run, ports[1], ports[0], 2, 16, 4, SameThreads));

        var a = first.WaitForExit(300);
        var b = second.WaitForExit(60);
        Assert.Contains("runs on this node", a.Output);
        output.WriteLine(a.Output);
        output.WriteLine(b.Output);
        Assert.True(a.ExitCode == 0, a.Output);
        Assert.True(b.ExitCode == 0, b.Output);
        Assert.Matches(@"replicas identical: 2 device\(s\)", a.Output);
        RunFiles.AssertSameState(fixture.Reference(16, 4, SameThreads), run, 16);
    }

    private static Regex TwoDeviceEpoch() => new(@"epoch \d+: 2 device\(s\)");

    private static Regex Continuing() => new(@"continuing at step (\d+) from the state of \d+ of \d+ surviving device\(s\) \(steps lost: (\d+)");

    private static List<string> ProgressLines(string text) => ProgressPattern().Matches(text).Select(m => m.Value).ToList();

    private static long StepOf(string line) => long.Parse(ProgressPattern().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);

    private static int CountMatches(string text, string pattern) => Regex.Matches(text, pattern).Count;

    // Members that reach min-nodes together are moved up in address order, so the oldest (the
    // coordinator's node) is the lowest port: the seed, started first here, gets it.
    private static int[] Ports(int count) => LoopbackPorts.Ascending(count);

    [GeneratedRegex(@"step\s+(\d+)/\d+")]
    private static partial Regex ProgressPattern();
}
