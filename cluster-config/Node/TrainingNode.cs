using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Node;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Model.Schedules;
using GppfActors.Tasks.Synthetic;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// A single-node training run: prepares the data (generating the synthetic set when the job asks),
/// opens the checkpoint journal, resolves the resume point, and starts the coordinator and the
/// node agent with one device actor per local device. Events reach <c>onEvent</c> on actor threads.
/// </summary>
public sealed class TrainingNode : IAsyncDisposable
{
    private readonly ActorSystem system;
    private readonly CheckpointPayload? resumed;

    private TrainingNode(ActorSystem system, CheckpointPayload? resumed, Task<object> completion, long startStep)
    {
        this.system = system;
        this.resumed = resumed;
        Completion = completion;
        StartStep = startStep;
    }

    /// <summary>Completes with <see cref="TrainingFinished"/> or <see cref="TrainingFailed"/>.</summary>
    public Task<object> Completion { get; }

    /// <summary>The step this run starts from (0, or the resumed checkpoint's).</summary>
    public long StartStep { get; }

    /// <summary>The journal database of a job.</summary>
    public static string JournalPath(JobConfig job) => Path.Combine(job.Checkpoint.Dir, "journal.db");

    public static async Task<TrainingNode> StartAsync(JobConfig job, string resolvedJson, bool resume, Action<object> onEvent, Action<string> log)
    {
        EnsureData(job, log);
        Directory.CreateDirectory(job.Checkpoint.Dir);
        var devices = DeviceId.ParseList(job.Train.Devices, TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0);
        if (devices.Any(d => d.Kind != "cpu"))
        {
            throw new NotSupportedException($"train.devices: '{job.Train.Devices}': GPU devices need the CUDA build and the NCCL group, which this version does not have yet; use cpu:K");
        }

        var config = ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.log-dead-letters = off
            akka.log-dead-letters-during-shutdown = off
            """)
            .WithFallback(CheckpointJournalConfig.Sqlite(Path.GetFullPath(JournalPath(job))))
            .WithFallback(ActorSystemConfig.Base);
        var system = ActorSystem.Create("gppf", config);
        CheckpointPayload? payload = null;
        try
        {
            var crashes = EnvironmentCrashInjector.FromEnvironment();
            var journal = system.ActorOf(CheckpointJournal.Props(CheckpointJournal.PersistenceIdFor(job.Name),
                new RetentionPolicy(job.Checkpoint.KeepLast, job.Checkpoint.KeepEvery), crashes), ActorPaths.CheckpointJournal);
            var latest = await journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, TimeSpan.FromSeconds(60));
            foreach (var stale in CheckpointHygiene.ListStale(Path.GetFullPath(job.Checkpoint.Dir), latest.Committed))
            {
                log($"removing {stale}: left by an interrupted checkpoint write, never committed");
                CheckpointDirectories.Remove(stale);
            }

            var resolved = resume
                ? CheckpointResolver.LatestLoadable(latest.Committed, dir => CheckpointReader.Load(dir), message => log($"WARNING: {message}"))
                : null;
            if (resume && resolved is null)
            {
                log("--resume: no committed checkpoint in the journal; starting from step 0");
            }
            if (!resume && latest.Record is not null)
            {
                throw new InvalidOperationException(
                    $"{JournalPath(job)} already holds checkpoints of job '{job.Name}' (latest: step {latest.Record.Step}); pass --resume to continue it, or choose another checkpoint.dir");
            }
            foreach (var skipped in resolved?.Skipped ?? [])
            {
                journal.Tell(new DiscardCheckpoint(skipped.Record.Step, skipped.Reason));
            }
            payload = resolved?.Payload;
            journal.Tell(new RecordRunStarted(job.Name, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(resolvedJson)))));

            var datasets = JobDatasets.Open(job);
            var sampler = new TaskSamplerState(
                job.Tasks.Select(t => new SampledTask(t.Name, t.SamplingWeight, datasets.Train[t.Name].Count, t.BatchSize)).ToArray(),
                job.Seed, job.Sampling.Mode);
            var schedule = new ScheduleState(
                new CosineWarmupSchedule(job.Optimizer.Lr, job.Optimizer.WarmupSteps, job.Train.MaxSteps, job.Optimizer.MinLr),
                new TemperatureSchedule(job.Routing.Tau0, job.Routing.TauMin, job.Routing.TauDecaySteps));
            if (payload is not null)
            {
                sampler.LoadJson(payload.SamplerStateJson);
                schedule.LoadJson(payload.ScheduleStateJson);
                log($"resuming from checkpoint of step {payload.Step} ({resolved!.Record.Directory})");
            }

            var completion = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            var listener = system.ActorOf(Akka.Actor.Props.Create(() => new EventForwarder(onEvent, completion)), "progress");
            var settings = new CoordinatorSettings(job.Train.MaxSteps, devices.Count, job.Eval.EverySteps, job.Eval.Batches,
                job.Checkpoint.EverySteps, job.Collectives.TimeoutSeconds, payload?.Step ?? 0, Path.GetFullPath(job.Checkpoint.Dir), resolvedJson);
            var coordinator = system.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, listener, journal, crashes),
                ActorPaths.Coordinator);
            system.ActorOf(NodeAgent.Props(devices, new TaskWorkloadFactory(job, datasets, payload, log), coordinator, job.Routing.Mode, job.SyncBatchNorm, job.Seed,
                DeviceFaults.FromEnvironment()), ActorPaths.NodeAgent);
            return new TrainingNode(system, payload, completion.Task, payload?.Step ?? 0);
        }
        catch
        {
            payload?.Dispose();
            await system.Terminate();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await system.Terminate();
        resumed?.Dispose();
    }

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

    /// <summary>Hands every event to the host and completes the run's task on its last event.</summary>
    private sealed class EventForwarder : ReceiveActor
    {
        public EventForwarder(Action<object> onEvent, TaskCompletionSource<object> completion)
        {
            ReceiveAny(message =>
            {
                onEvent(message);
                if (message is TrainingFinished or TrainingFailed)
                {
                    completion.TrySetResult(message);
                }
            });
        }
    }
}
