using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.Singleton;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Metrics;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Collectives;
using Microsoft.Extensions.Logging;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// One process of a training cluster (<c>gppf node</c>): joins the Akka.Cluster through the seed
/// nodes or Cluster Bootstrap (<see cref="ClusterBootstrapStart"/>), hosts this node's devices under a node agent, and takes part in the job's singleton (the
/// job leader with coordinator, sampler, schedule and journal, running on the oldest node). Its
/// collectives meet the other processes' over TCP. Events reach <c>onEvent</c> on actor threads;
/// <see cref="Completion"/> ends when the job ends everywhere or this node is removed.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    /// <summary>The singleton manager's name (the job leader runs below it on the oldest node).</summary>
    public const string JobLeaderManager = "job-leader";

    private readonly ActorSystem system;
    private readonly ICollectiveGroupFactory collectives;
    private readonly JobEndedFlag ended;
    private readonly PretrainedStart? start;

    private ClusterNode(ActorSystem system, ICollectiveGroupFactory collectives, JobEndedFlag ended, PretrainedStart? start, Task<object> completion)
    {
        this.start = start;
        this.system = system;
        this.collectives = collectives;
        this.ended = ended;
        Completion = completion;
    }

    /// <summary>The node's actor system (the live view reads the cluster's members from it; the partition spec cuts its traffic).</summary>
    public ActorSystem System => system;

    /// <summary>Completes with <see cref="JobEnded"/> or <see cref="NodeRemoved"/>.</summary>
    public Task<object> Completion { get; }

    public static Task<ClusterNode> StartAsync(JobConfig job, string resolvedJson, ClusterOptions cluster, ResumeOptions resume, Action<object> onEvent, Action<string> log,
        ILoggerFactory? loggers = null, NodeMetrics? metrics = null)
    {
        cluster.Validate();
        var (local, gpus) = GpuDevices.Resolve(job.Train.Devices);
        var devices = local.Select(d => d with { Node = cluster.NodeName }).ToList();
        SharedData.Ensure(job, log);
        var datasets = JobDatasets.Open(job);
        // Rank 0 (which writes checkpoints) and the coordinator (which commits them, and opens the
        // SQLite journal there) may each be on any node, now or after a failover.
        RunFolder.CheckWritable(job.Checkpoint.Dir);
        // Every node reads the pre-trained checkpoint of a fine-tuning job itself (a shared folder).
        var start = PretrainedStart.Open(job, log);

        var system = ActorSystem.Create(NodeConfig.SystemName, NodeConfig.Setup(NodeConfig.Cluster(cluster, JournalStore.For(job).Config), loggers));
        metrics?.RegisterWith(system);
        ICollectiveGroupFactory? collectives = null;
        try
        {
            ClusterBootstrapStart.Run(system, cluster);
            collectives = gpus ? GpuDevices.Nccl(cluster.NodeName)
                : new CollectiveNode(new CollectiveNodeOptions { BindAddress = cluster.ListenHost, ProcessId = cluster.NodeName });
            var ended = new JobEndedFlag();
            var seen = new CoordinatorSeen();
            var self = Cluster.Get(system).SelfAddress.ToString();
            var completion = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            var listener = system.ActorOf(Props.Create(() => new NodeEvents(onEvent, completion, ended, seen, self)), NodeEventsName);
            // Whatever stops the actor system ends the run, even when the listener was stopped before
            // it heard why: a node cut off by a partition that learns of its Down by gossip once the
            // partition heals runs the coordinated shutdown without its own removal ever being published.
            _ = system.WhenTerminated.ContinueWith(_ =>
            {
                if (!completion.Task.IsCompleted && !ended.Value)
                {
                    var stopped = new NodeRemoved("this node's actor system stopped before the job ended (the cluster downed it, or it was shut down)");
                    onEvent(stopped);
                    completion.TrySetResult(stopped);
                }
            }, TaskScheduler.Default);
            int expected = cluster.MinDevices > 0 ? cluster.MinDevices : cluster.MinNodes * devices.Count;
            var spec = new JobLeader.JobSpec(job, resolvedJson, resume, expected, datasets, () => ended.Value, () => seen.Node);
            system.ActorOf(ClusterSingletonManager.Props(JobLeader.Props(spec, listener), PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system)),
                JobLeaderManager);
            // Until min-nodes are up there is no singleton to find; that is expected, not worth a warning.
            var leader = system.ActorOf(ClusterSingletonProxy.Props($"/user/{JobLeaderManager}",
                ClusterSingletonProxySettings.Create(system).WithLogSingletonIdentificationFailure(false)), "job-leader-proxy");
            system.ActorOf(ClusterWatcher.Props(listener), "cluster-watcher");
            system.ActorOf(NodeAgent.Props(devices, new TaskWorkloadFactory(job, datasets, log, start), collectives, leader, job.Routing.Mode, job.SyncBatchNorm, job.Seed,
                DeviceFaults.FromEnvironment(), listener), ActorPaths.NodeAgent);
            return Task.FromResult(new ClusterNode(system, collectives, ended, start, completion.Task));
        }
        catch
        {
            collectives?.Dispose();
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            start?.Dispose();
            throw;
        }
    }

    /// <summary>Leaves the cluster (so the others see a graceful exit, not a failure) and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        ended.Value = true;
        try
        {
            await Cluster.Get(system).LeaveAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // The others will see this node unreachable instead; the job is over either way.
        }
        await system.Terminate();
        collectives.Dispose();
        start?.Dispose();
    }

    /// <summary>The name of every node's event listener (the job leader tells each one where the coordinator runs).</summary>
    public const string NodeEventsName = "node-events";

    private sealed class CoordinatorSeen
    {
        private volatile string? node;

        public string? Node
        {
            get => node;
            set => node = value;
        }
    }

    private sealed class JobEndedFlag
    {
        private volatile bool value;

        public bool Value
        {
            get => value;
            set => this.value = value;
        }
    }

    /// <summary>Hands every event to the host; the node's run ends with the job, or when the cluster removes this node.</summary>
    private sealed class NodeEvents : ReceiveActor
    {
        private bool announced;

        public NodeEvents(Action<object> onEvent, TaskCompletionSource<object> completion, JobEndedFlag ended, CoordinatorSeen seen, string self)
        {
            Receive<JobStarted>(m =>
            {
                bool moved = seen.Node is { } before && before != m.CoordinatorNode;
                seen.Node = m.CoordinatorNode;
                if (m.CoordinatorNode != self && (moved || !announced))
                {
                    announced = true;
                    onEvent(new NodeLog($"coordinator of job {m.Job} runs on {m.CoordinatorNode}: progress, checkpoints and TensorBoard are there"));
                }
            });
            ReceiveAny(message =>
            {
                onEvent(message);
                if (message is JobEnded or NodeRemoved)
                {
                    ended.Value = true;
                    completion.TrySetResult(message);
                }
            });
        }
    }
}
