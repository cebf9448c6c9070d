using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Model.Checkpoints;
using GppfActors.Tasks.Synthetic;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// A single-process training run: takes the run folder (lock and identity), prepares the data
/// (generating the synthetic set when the job asks), opens and checks the checkpoint journal,
/// resolves the resume point, and starts the coordinator (with sampler, schedule and journal) and
/// the node agent with one device actor per local device. Events reach <c>onEvent</c> on actor threads.
/// </summary>
public sealed class TrainingNode : IAsyncDisposable
{
    /// <summary>The resolved job configuration written next to the checkpoints.</summary>
    public const string ResolvedJobFile = "job.resolved.json";

    private static readonly TimeSpan JournalAnswerTimeout = TimeSpan.FromSeconds(30);

    private readonly ActorSystem system;
    private readonly IActorRef journal;
    private readonly RunFolder folder;
    private readonly CheckpointPayload? resumed;

    private TrainingNode(ActorSystem system, IActorRef journal, RunFolder folder, CheckpointPayload? resumed, Task<object> completion, long startStep)
    {
        this.system = system;
        this.journal = journal;
        this.folder = folder;
        this.resumed = resumed;
        Completion = completion;
        StartStep = startStep;
    }

    /// <summary>Completes with <see cref="TrainingFinished"/> or <see cref="TrainingFailed"/>.</summary>
    public Task<object> Completion { get; }

    /// <summary>The step this run starts from (0, or the resumed checkpoint's).</summary>
    public long StartStep { get; }

    /// <summary>The journal database of a job.</summary>
    public static string JournalPath(JobConfig job) => Path.Combine(Path.GetFullPath(job.Checkpoint.Dir), "journal.db");

    /// <summary>Starts the run; every refusal (a locked or foreign run folder, a journal that cannot be used, nothing to resume) throws with one line naming the file or key.</summary>
    public static async Task<TrainingNode> StartAsync(JobConfig job, string resolvedJson, ResumeOptions resume, Action<object> onEvent, Action<string> log)
    {
        var folder = RunFolder.Open(job.Checkpoint.Dir, JobObjects.Identity(job));
        ActorSystem? system = null;
        CheckpointPayload? payload = null;
        try
        {
            var devices = DeviceId.ParseList(job.Train.Devices, TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0);
            if (devices.Any(d => d.Kind != "cpu"))
            {
                throw new NotSupportedException($"train.devices: '{job.Train.Devices}': GPU devices need the CUDA build and the NCCL group, which this version does not have yet; use cpu:K");
            }
            EnsureData(job, log);
            var journalPath = JournalPath(job);
            CheckpointJournalConfig.VerifySqlite(journalPath);

            system = ActorSystem.Create("gppf", NodeConfig.SingleProcess(journalPath));
            var journal = system.ActorOf(JournalProps(job), ActorPaths.CheckpointJournalSupervisor);
            LatestCheckpoint latest;
            try
            {
                latest = await journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, JournalAnswerTimeout);
            }
            catch (AskTimeoutException)
            {
                throw new IOException($"checkpoint journal '{journalPath}' did not answer within {JournalAnswerTimeout.TotalSeconds:0} s (see the log above for the cause)");
            }
            if (!resume.Resume && latest.Record is not null)
            {
                throw new InvalidOperationException(
                    $"{journalPath} already holds checkpoints of job '{job.Name}' (latest: step {latest.Record.Step}); pass --resume to continue it, or choose another checkpoint.dir");
            }

            foreach (var stale in CheckpointHygiene.ListStale(folder.Path, latest.Committed, job.Name))
            {
                log($"removing {stale}: left by an interrupted checkpoint write or removal, never committed");
                CheckpointDirectories.Remove(stale);
            }

            var resolved = resume.Resume
                ? CheckpointResolver.Resolve(latest.Committed, CheckpointResolver.LoadVerified, resume.DiscardMissing, message => log($"WARNING: {message}"))
                : null;
            payload = resolved?.Payload;
            foreach (var skipped in resolved?.Skipped ?? [])
            {
                // Discarded in the journal first, then moved aside for inspection under a name no
                // clean-up touches: this run will write that step again, and never overwrites a folder.
                await journal.Ask<CheckpointDiscarded>(new DiscardCheckpoint(skipped.Record.Step, skipped.Reason), JournalAnswerTimeout);
                if (Directory.Exists(skipped.Record.Directory))
                {
                    var aside = $"{skipped.Record.Directory}.unusable-{DateTime.UtcNow:yyyyMMddTHHmmss}";
                    Directory.Move(skipped.Record.Directory, aside);
                    log($"moved the unusable checkpoint of step {skipped.Record.Step} aside to {aside}");
                }
            }
            // Epochs of this process start above every epoch the journal or the checkpoint saw, so
            // the journal never refuses this run's commits as coming from an older epoch.
            long startEpoch = Math.Max(latest.Committed.Select(r => r.Epoch).DefaultIfEmpty(0).Max(), payload?.Epoch ?? 0);

            var datasets = JobDatasets.Open(job);
            var sampler = JobObjects.Sampler(job, datasets);
            var schedule = JobObjects.Schedule(job);
            if (payload is not null)
            {
                sampler.LoadJson(payload.SamplerStateJson);
                schedule.LoadJson(payload.ScheduleStateJson);
                log($"resuming from checkpoint of step {payload.Step} ({resolved!.Record.Directory}), epoch {startEpoch + 1}");
            }

            // Written only now: a refused start must not change the run folder.
            var resolvedBytes = Encoding.UTF8.GetBytes(resolvedJson);
            DurableFile.Replace(Path.Combine(folder.Path, ResolvedJobFile), stream => stream.Write(resolvedBytes));
            journal.Tell(new RecordRunStarted(job.Name, Convert.ToHexStringLower(SHA256.HashData(resolvedBytes))));

            var completion = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            var listener = system.ActorOf(Props.Create(() => new EventForwarder(onEvent, completion)), "progress");
            var settings = JobObjects.Coordinator(job, devices.Count, payload?.Step ?? 0, startEpoch, resolvedJson);
            var coordinator = system.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, listener, journal, EnvironmentCrashInjector.FromEnvironment()),
                ActorPaths.Coordinator);
            listener.Tell(new EventForwarder.WatchCoordinator(coordinator));
            system.ActorOf(NodeAgent.Props(devices, new TaskWorkloadFactory(job, datasets, payload, log), coordinator, job.Routing.Mode, job.SyncBatchNorm, job.Seed,
                DeviceFaults.FromEnvironment()), ActorPaths.NodeAgent);
            return new TrainingNode(system, journal, folder, payload, completion.Task, payload?.Step ?? 0);
        }
        catch
        {
            payload?.Dispose();
            if (system is not null)
            {
                await system.Terminate();
            }
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
        resumed?.Dispose();
        folder.Dispose();
    }

    private static Props JournalProps(JobConfig job) =>
        CheckpointJournal.SupervisedProps(CheckpointJournal.PersistenceIdFor(job.Name), JobObjects.Retention(job), EnvironmentCrashInjector.FromEnvironment());

    private static void EnsureData(JobConfig job, Action<string> log)
    {
        if (File.Exists(Path.Combine(job.Data.Root, SynthLayout.ManifestFile)) || !job.Data.GenerateIfMissing)
        {
            return;
        }
        if (Directory.Exists(job.Data.Root) && Directory.EnumerateFileSystemEntries(job.Data.Root).Any())
        {
            throw new InvalidOperationException($"data.root '{job.Data.Root}' is not empty but holds no synthetic data set; point data.root elsewhere or set data.generate_if_missing=false");
        }
        var size = job.Data.SyntheticSize == "medium" ? SynthSize.Medium : SynthSize.Small;
        log($"generating the synthetic data set ({job.Data.SyntheticSize}, seed {job.Data.SyntheticSeed}) in {job.Data.Root}");
        SyntheticDatasetWriter.Write(job.Data.Root, new SynthOptions { Seed = (long)job.Data.SyntheticSeed, Size = size });
    }

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
