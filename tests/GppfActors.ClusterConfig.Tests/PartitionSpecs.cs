using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Remote;
using Akka.Remote.Transport;
using GppfActors.Actors;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Node;
using GppfActors.Testing;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.ClusterConfig.Tests;

/// <summary>
/// Three cluster nodes in one process (each its own actor system with remoting and its own TCP
/// collectives); one node is cut off by blackholing its Akka traffic in the throttling transport, not
/// killed. When it is the coordinator's node, the two others down it and one of them takes over from
/// the devices' state; the cut-off node, its resolver patient, keeps running and comes back when the
/// partition heals, and by then can neither drive a device nor commit a checkpoint. When it is a
/// worker's node, the coordinator goes on with the other two as soon as the worker is downed.
/// </summary>
public sealed class PartitionSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("gppf-partition-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // A node's leftover file handle; the temp folder is cleaned by the OS.
        }
    }

    private sealed class NodeEvents
    {
        private readonly Stopwatch clock;

        public NodeEvents(Stopwatch clock) => this.clock = clock;

        public ConcurrentQueue<(double At, object Event)> All { get; } = new();

        public void Add(object e) => All.Enqueue((clock.Elapsed.TotalSeconds, e));

        public IEnumerable<T> Of<T>() => All.Select(x => x.Event).OfType<T>();

        public IEnumerable<string> Lines => Of<NodeLog>().Select(l => l.Line);
    }

    private static async Task Cut(ClusterNode node, IEnumerable<ClusterNode> others, ThrottleMode mode)
    {
        var transport = ((IRemoteActorRefProvider)((ExtendedActorSystem)node.System).Provider).Transport;
        foreach (var other in others)
        {
            var address = ((ExtendedActorSystem)other.System).Provider.DefaultAddress;
            Assert.True(await transport.ManagementCommand(new SetThrottle(address, ThrottleTransportAdapter.Direction.Both, mode)));
        }
    }

    private const long Steps = 12;

    // Nodes on ascending loopback ports; the first is the seed. They all come up together (the
    // job waits for all of them), so the first is both the oldest node, which hosts the coordinator,
    // and the cluster's leader (lowest address), which downs and removes others. The node numbered
    // patient has a resolver that waits 60 s, so it is still running when the partition heals.
    private async Task<TestCluster> StartNodes(int count, int patient, long steps = Steps)
    {
        var clock = Stopwatch.StartNew();
        var cluster = new TestCluster(clock, Enumerable.Range(0, count).Select(_ => new NodeEvents(clock)).ToArray());
        int[] ports = LoopbackPorts.Ascending(count);
        string seed = $"akka.trttl.tcp://{NodeConfig.SystemName}@127.0.0.1:{ports[0]}";
        string overlay = Path.Combine(root, "throttled.hocon");
        // The throttling adapter over TCP (addresses become akka.trttl.tcp://), so traffic can be cut.
        File.WriteAllText(overlay, $$"""
            akka.remote.dot-netty.tcp.applied-adapters = [trttl]
            akka.cluster.seed-nodes = ["{{seed}}"]
            """);
        var (job, resolved) = JobConfigLoader.Load("cpu-small",
        [
            $"data.root={Path.Combine(root, "data")}", $"checkpoint.dir={Path.Combine(root, "run")}", "checkpoint.every_steps=3", "checkpoint.keep_last=100",
            $"train.max_steps={steps}", "train.devices=cpu:1", "train.intra_op_threads=1", "eval.every_steps=0", "eval.batches=1",
            "optimizer.warmup_steps=2", "routing.tau_decay_steps=10",
            "tasks.shapes_cls.batch_size=4", "tasks.shapes_det.batch_size=2", "tasks.shapes_seg.batch_size=2",
        ]);
        try
        {
            for (int i = 0; i < count; i++)
            {
                var options = new ClusterOptions("127.0.0.1", ports[i], [$"127.0.0.1:{ports[0]}"], MinNodes: count)
                {
                    AcceptableHeartbeatPauseSeconds = 2,
                    StableAfterSeconds = i == patient ? 60 : 2,
                    AkkaConfigFile = overlay,
                }.Validate();
                var sink = cluster.Events[i];
                cluster.Nodes.Add(await ClusterNode.StartAsync(job, resolved, options, ResumeOptions.Fresh, sink.Add, line => sink.Add(new NodeLog(line))));
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    // The nodes of one test and what each reported, on one clock; disposing it stops every node.
    private sealed class TestCluster(Stopwatch clock, NodeEvents[] events) : IAsyncDisposable
    {
        public Stopwatch Clock { get; } = clock;

        public NodeEvents[] Events { get; } = events;

        public List<ClusterNode> Nodes { get; } = [];

        // Cuts (or heals) every link between one node and the others, in both directions.
        public async Task Partition(int alone, ThrottleMode mode)
        {
            var others = Nodes.Where((_, i) => i != alone).ToList();
            await Cut(Nodes[alone], others, mode);
            foreach (var other in others)
            {
                await Cut(other, [Nodes[alone]], mode);
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var node in Nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    // The coordinator that reported these events ran every step from its first to the job's last
    // exactly once; returns its first step.
    private static long AssertEveryStepOnce(NodeEvents coordinator)
    {
        var steps = coordinator.Of<TrainingProgress>().Select(p => p.Step).ToList();
        Assert.Equal(Enumerable.Range((int)steps[0], (int)(Steps - steps[0])).Select(s => (long)s), steps);
        return steps[0];
    }

    [Fact]
    public async Task Should_take_over_on_the_majority_and_fence_the_cut_off_coordinator_when_it_comes_back()
    {
        await using var cluster = await StartNodes(3, patient: 0);
        var (clock, events, nodes) = (cluster.Clock, cluster.Events, cluster.Nodes);
        var (cutOff, heir, worker) = (events[0], events[1], events[2]);
        Assert.True(Poll.Until(() => cutOff.Lines.Any(l => l.Contains("runs on this node")), 120), string.Join("\n", cutOff.Lines));
        var random = new Random(20261203);
        long k = 3 + random.Next(4);
        Assert.True(Poll.Until(() => cutOff.Of<TrainingProgress>().Any(p => p.Step >= k), 180), "no progress");
        Thread.Sleep(random.Next(0, 300));

        double cutAt = clock.Elapsed.TotalSeconds;
        await cluster.Partition(0, Blackhole.Instance);
        long reported = cutOff.Of<TrainingProgress>().Max(p => p.Step);

        Assert.True(Poll.Until(() => heir.Lines.Any(l => l.StartsWith("continuing at step", StringComparison.Ordinal)), 120), string.Join("\n", heir.Lines));
        double tookOverAt = heir.All.First(e => e.Event is NodeLog l && l.Line.StartsWith("continuing at step", StringComparison.Ordinal)).At;
        string continuing = heir.Lines.First(l => l.StartsWith("continuing at step", StringComparison.Ordinal));
        output.WriteLine($"cut at {cutAt:0.0} s after step {reported + 1} was reported; {continuing} at {tookOverAt:0.0} s");
        Assert.Contains("(steps lost: ", continuing);
        Assert.Contains("continuing without the lock", string.Join("\n", heir.Lines));   // the cut-off process still holds the folder

        // The partition heals while the cut-off coordinator still runs: it comes back to a cluster that removed it.
        await cluster.Partition(0, Unthrottled.Instance);

        var finished = await nodes[1].Completion.WaitAsync(TimeSpan.FromMinutes(4));
        Assert.True(finished is JobEnded { Succeeded: true }, $"{finished}\n{string.Join("\n", heir.Lines)}");
        Assert.True(await nodes[2].Completion.WaitAsync(TimeSpan.FromSeconds(60)) is JobEnded { Succeeded: true });
        // The cut-off node ends once its device's collective has timed out (collectives.timeout_seconds,
        // 60 s in cpu-small) and it has downed itself: 90 s was too tight with the whole suite running.
        var cutOffEnd = await nodes[0].Completion.WaitAsync(TimeSpan.FromSeconds(180));
        output.WriteLine($"the cut-off node ended with {cutOffEnd}");
        Assert.False(cutOffEnd is JobEnded { Succeeded: true });

        // Survivors end identical; the new coordinator ran every step after the takeover once.
        var verified = Assert.Single(heir.Of<ReplicasVerified>());
        Assert.Equal(2, verified.NumReplicas);
        long continuedAt = AssertEveryStepOnce(heir);
        Assert.True(continuedAt >= reported, $"the cut-off coordinator reported step {reported}, the new one continued at {continuedAt}");
        // Nothing was committed by the cut-off coordinator once the takeover was journaled.
        var lateCommits = cutOff.All.Where(e => e.At >= tookOverAt && e.Event is CheckpointSaved).ToList();
        Assert.Empty(lateCommits);
        Assert.Contains(heir.Of<CheckpointSaved>(), c => c.Record.Step == Steps);
        Assert.Empty(worker.Of<CheckpointSaved>());
    }

    [Fact]
    public async Task Should_end_a_nodes_run_when_its_actor_system_stops_without_its_removal_being_heard()
    {
        // What a cut-off node goes through when, the partition healed, it hears by gossip that the
        // others downed it: the coordinated shutdown stops the actor system, listener included,
        // before any removal of this node is published. Its run must end all the same.
        await using var cluster = await StartNodes(1, patient: -1, steps: 1000);
        var (events, nodes) = (cluster.Events, cluster.Nodes);
        Assert.True(Poll.Until(() => events[0].Of<TrainingProgress>().Any(), 180), string.Join("\n", events[0].Lines));

        // The node's watcher is gone first, so no removal of this node can reach the listener.
        var watcher = await nodes[0].System.ActorSelection("/user/cluster-watcher").ResolveOne(TimeSpan.FromSeconds(10));
        await watcher.GracefulStop(TimeSpan.FromSeconds(10));
        await nodes[0].System.Terminate().WaitAsync(TimeSpan.FromSeconds(60));

        var ended = await nodes[0].Completion.WaitAsync(TimeSpan.FromSeconds(30));
        var removed = Assert.IsType<NodeRemoved>(ended);
        Assert.Contains("actor system stopped", removed.Reason);
        Assert.Contains(events[0].Of<NodeRemoved>(), r => r.Reason == removed.Reason);
    }

    [Fact]
    public async Task Should_form_the_next_epoch_as_soon_as_a_cut_off_worker_is_downed_without_waiting_for_its_removal()
    {
        // Four nodes: the leader removes a downed node once every other survivor has seen the Down,
        // which takes gossip rounds (with three, the one other survivor often answers at once).
        await using var cluster = await StartNodes(4, patient: 3);
        var (clock, events, nodes) = (cluster.Clock, cluster.Events, cluster.Nodes);
        var (coordinator, cutOff) = (events[0], events[3]);
        string cutOffName = $"127.0.0.1:{((ExtendedActorSystem)nodes[3].System).Provider.DefaultAddress.Port}";
        var random = new Random(20261201);
        long k = 3 + random.Next(4);
        Assert.True(Poll.Until(() => coordinator.Of<TrainingProgress>().Any(p => p.Step >= k), 180), string.Join("\n", coordinator.Lines));
        Thread.Sleep(random.Next(0, 300));

        double cutAt = clock.Elapsed.TotalSeconds;
        await cluster.Partition(3, Blackhole.Instance);
        var finished = await nodes[0].Completion.WaitAsync(TimeSpan.FromMinutes(4));
        Assert.True(finished is JobEnded { Succeeded: true }, $"{finished}\n{string.Join("\n", coordinator.Lines)}");

        // On the coordinator's node: the epoch without the cut-off worker is formed because the
        // node was downed, before the cluster removed it (removal waits until the coordinator's
        // node has seen the Down and the leader has heard so, then travels back by gossip).
        bool Removal((double At, object Event) e) => e.Event is NodeLog l && l.Line.StartsWith($"node {cutOffName} was removed", StringComparison.Ordinal);
        Assert.True(Poll.Until(() => coordinator.All.Any(Removal), 60), string.Join("\n", coordinator.Lines));
        var formed = coordinator.All.First(e => e.At > cutAt && e.Event is MembershipChanged { WorldSize: 3 });
        double removedAt = coordinator.All.First(Removal).At;
        var change = (MembershipChanged)formed.Event;
        output.WriteLine($"cut at {cutAt:0.00} s; epoch {change.Epoch} of 3 formed at {formed.At:0.00} s ({change.Reason}); node removed at {removedAt:0.00} s");
        Assert.Contains(coordinator.Of<NodeStatusChanged>(), s => s.Status.StartsWith("downed", StringComparison.Ordinal));
        Assert.Contains($"{cutOffName} was downed", change.Reason);
        Assert.True(formed.At < removedAt, $"the next epoch was formed at {formed.At:0.00} s, after the node's removal at {removedAt:0.00} s");

        // The three survivors finish identical; the cut-off node saved nothing.
        var verified = Assert.Single(coordinator.Of<ReplicasVerified>());
        Assert.Equal(3, verified.NumReplicas);
        Assert.Contains(coordinator.Of<CheckpointSaved>(), c => c.Record.Step == Steps);
        Assert.Empty(cutOff.Of<CheckpointSaved>());
        await cluster.Partition(3, Unthrottled.Instance);
    }

    [Fact]
    public async Task Should_continue_from_the_newest_committed_checkpoint_when_no_survivor_holds_the_state()
    {
        await using var cluster = await StartNodes(3, patient: 0);
        var (events, nodes) = (cluster.Events, cluster.Nodes);
        var (cutOff, heir) = (events[0], events[1]);
        Assert.True(Poll.Until(() => cutOff.Of<CheckpointSaved>().Any(c => c.Record.Step >= 3), 240), string.Join("\n", cutOff.Lines));

        // The coordinator's node is cut off, and at once the two other nodes' devices restart
        // (killed from here; their supervisors start them again with fresh replicas), so that no
        // survivor holds the run's state when the new coordinator asks.
        await cluster.Partition(0, Blackhole.Instance);
        long committed = cutOff.Of<CheckpointSaved>().Max(c => c.Record.Step);
        foreach (var node in nodes.Skip(1))
        {
            node.System.ActorSelection($"/user/{ActorPaths.NodeAgent}/device-cpu-0").Tell(Kill.Instance);
        }

        Assert.True(Poll.Until(() => heir.Lines.Any(l => l.Contains("continuing from the newest committed checkpoint", StringComparison.Ordinal)), 180),
            string.Join("\n", heir.Lines));
        string line = heir.Lines.First(l => l.Contains("continuing from the newest committed checkpoint", StringComparison.Ordinal));
        output.WriteLine(line);
        var finished = await nodes[1].Completion.WaitAsync(TimeSpan.FromMinutes(4));
        Assert.True(finished is JobEnded { Succeeded: true }, $"{finished}\n{string.Join("\n", heir.Lines)}");
        Assert.True(await nodes[2].Completion.WaitAsync(TimeSpan.FromSeconds(60)) is JobEnded { Succeeded: true });

        // The newest checkpoint the cut-off coordinator committed (or a later one it committed
        // before the takeover fenced it) is where the run goes on; every later step runs once.
        long resumedAt = AssertEveryStepOnce(heir);
        Assert.Contains($"(step {resumedAt})", line);
        Assert.True(resumedAt >= committed, $"the run went on at step {resumedAt}, but step {committed} was committed");
        Assert.Equal(2, Assert.Single(heir.Of<ReplicasVerified>()).NumReplicas);
        Assert.Contains(heir.Of<CheckpointSaved>(), c => c.Record.Step == Steps);
        await cluster.Partition(0, Unthrottled.Instance);
    }
}
