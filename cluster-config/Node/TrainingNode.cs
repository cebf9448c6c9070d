using Akka.Actor;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Metrics;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Collectives;

using Microsoft.Extensions.Logging;
namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// A single-process training run: takes the run folder (lock and identity), prepares the data
/// (generating the synthetic set when the job asks), opens and checks the checkpoint journal,
/// resolves the resume point, and starts the coordinator (with sampler, schedule and journal) and
/// the node agent with one device actor per local device. Events reach <c>onEvent</c> on actor threads;
/// devices and the journal record into <c>metrics</c> when given.
/// </summary>
public sealed class TrainingNode : IAsyncDisposable
{
    /// <summary>The resolved job configuration written next to the checkpoints.</summary>
    public const string ResolvedJobFile = RunPreparation.ResolvedJobFile;

    private static readonly TimeSpan JournalAnswerTimeout = TimeSpan.FromSeconds(30);

    private readonly ActorSystem system;
    private readonly IActorRef journal;
    private readonly RunFolder folder;
    private readonly ICollectiveGroupFactory collectives;
    private readonly PretrainedStart? start;

    private TrainingNode(ActorSystem system, IActorRef journal, RunFolder folder, ICollectiveGroupFactory collectives, PretrainedStart? start, Task<object> completion, long startStep)
    {
        this.system = system;
        this.journal = journal;
        this.folder = folder;
        this.collectives = collectives;
        this.start = start;
        Completion = completion;
        StartStep = startStep;
    }

    /// <summary>Completes with <see cref="TrainingFinished"/> or <see cref="TrainingFailed"/>.</summary>
    public Task<object> Completion { get; }

    /// <summary>The run's actor system.</summary>
    public ActorSystem System => system;

    /// <summary>The step this run starts from (0, or the resumed checkpoint's).</summary>
    public long StartStep { get; }

    /// <summary>Starts the run; every refusal (a locked or foreign run folder, a journal that cannot be used, nothing to resume) throws with one line naming the file or key.</summary>
    public static async Task<TrainingNode> StartAsync(JobConfig job, string resolvedJson, ResumeOptions resume, Action<object> onEvent, Action<string> log,
        ILoggerFactory? loggers = null, NodeMetrics? metrics = null)
    {
        var folder = RunFolder.Open(job.Checkpoint.Dir, JobObjects.Identity(job));
        ActorSystem? system = null;
        ICollectiveGroupFactory? collectives = null;
        PretrainedStart? start = null;
        try
        {
            var (devices, gpus) = GpuDevices.Resolve(job.Train.Devices);
            RunPreparation.EnsureData(job, log);
            var store = JournalStore.For(job);
            store.Verify();
            // Data errors are found before the actor system starts, so a refusal never races the journal's start-up.
            var datasets = JobDatasets.Open(job);
            start = PretrainedStart.Open(job, log);

            system = ActorSystem.Create(NodeConfig.SystemName, NodeConfig.Setup(NodeConfig.SingleProcess(store.Config), loggers));
            metrics?.RegisterWith(system);
            var journal = system.ActorOf(JournalProps(job, store.PersistenceId(job, folder)), ActorPaths.CheckpointJournalSupervisor);
            var run = await RunPreparation.PrepareAsync(job, resolvedJson, resume, folder, journal, devices.Count, datasets, log);
            var (sampler, schedule, settings) = (run.Sampler, run.Schedule, run.Settings);

            var completion = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            var listener = system.ActorOf(Props.Create(() => new EventForwarder(onEvent, completion)), "progress");
            long startStep = settings.StartStep;
            var coordinator = system.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, listener, journal, EnvironmentCrashInjector.FromEnvironment()),
                ActorPaths.Coordinator);
            listener.Tell(new EventForwarder.WatchCoordinator(coordinator));
            // One process: CPU devices' groups are in-process (the node's TCP listener stays on loopback, unused).
            collectives = gpus ? GpuDevices.Nccl($"{Environment.MachineName}:{Environment.ProcessId}") : new CollectiveNode(new CollectiveNodeOptions { BindAddress = "127.0.0.1" });
            system.ActorOf(NodeAgent.Props(devices, new TaskWorkloadFactory(job, datasets, log, start), collectives, coordinator, job.Routing.Mode, job.SyncBatchNorm, job.Seed,
                DeviceFaults.FromEnvironment()), ActorPaths.NodeAgent);
            return new TrainingNode(system, journal, folder, collectives, start, completion.Task, startStep);
        }
        catch
        {
            if (system is not null)
            {
                await system.Terminate();
            }
            collectives?.Dispose();
            start?.Dispose();
            folder.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // Let retention finish what it started, so the journal and the folder agree when the process ends.
            await journal.Ask<Quiesced>(Quiesce.Instance, JournalAnswerTimeout);
        }
        catch (AskTimeoutException)
        {
            // Whatever is left is an uncommitted directory, which start-up hygiene removes.
        }
        await system.Terminate();
        collectives.Dispose();
        start?.Dispose();
        folder.Dispose();
    }

    private static Props JournalProps(JobConfig job, string persistenceId) =>
        CheckpointJournal.SupervisedProps(persistenceId, JobObjects.Retention(job), EnvironmentCrashInjector.FromEnvironment());

    /// <summary>Hands every event to the host and completes the run's task on its last event, or when the coordinator stops without one.</summary>
    private sealed class EventForwarder : ReceiveActor
    {
        public EventForwarder(Action<object> onEvent, TaskCompletionSource<object> completion)
        {
            Receive<WatchCoordinator>(m => Context.Watch(m.Coordinator));
            Receive<Terminated>(m =>
            {
                var failed = new TrainingFailed(-1, $"the coordinator stopped without finishing ({m.ActorRef.Path.Name}); see the log above");
                if (!completion.Task.IsCompleted)
                {
                    onEvent(failed);
                    completion.TrySetResult(failed);
                }
            });
            ReceiveAny(message =>
            {
                if (completion.Task.IsCompleted)
                {
                    return;
                }
                onEvent(message);
                if (message is TrainingFinished or TrainingFailed)
                {
                    completion.TrySetResult(message);
                }
            });
        }

        public sealed record WatchCoordinator(IActorRef Coordinator);
    }
}

/// <summary>How a run treats its journal: start fresh, or resume (and whether a missing newest checkpoint may be discarded).</summary>
public sealed record ResumeOptions(bool Resume, bool DiscardMissing = false)
{
    public static ResumeOptions Fresh { get; } = new(false);
}
