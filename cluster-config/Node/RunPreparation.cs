using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Model.Checkpoints;
using GppfActors.Tasks.Synthetic;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// What the coordinator's node does before the coordinator starts, the same for a single process and
/// for a cluster's job leader: read "latest" from the journal, refuse a fresh start over committed
/// checkpoints, remove this job's leftovers, resolve and verify the resume point, and build the
/// sampler, schedule and coordinator settings. Every refusal is one line naming the file or key.
/// </summary>
public static class RunPreparation
{
    /// <summary>The resolved job configuration written next to the checkpoints.</summary>
    public const string ResolvedJobFile = "job.resolved.json";

    private static readonly TimeSpan JournalAnswerTimeout = TimeSpan.FromSeconds(30);


    /// <summary>The coordinator's starting point.</summary>
    public sealed record PreparedRun(TaskSamplerState Sampler, ScheduleState Schedule, CoordinatorSettings Settings);

    /// <summary>Runs the preparation against <paramref name="journal"/> (a started journal actor) in the run folder <paramref name="folder"/>.</summary>
    public static async Task<PreparedRun> PrepareAsync(JobConfig job, string resolvedJson, ResumeOptions resume, RunFolder folder, IActorRef journal,
        int expectedDevices, JobDatasets datasets, Action<string> log)
    {
        var store = JournalStore.For(job);
        LatestCheckpoint latest;
        try
        {
            latest = await journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, JournalAnswerTimeout);
        }
        catch (AskTimeoutException)
        {
            throw new IOException($"{store.Description} did not answer within {JournalAnswerTimeout.TotalSeconds:0} s (see the log above for the cause)");
        }
        if (!resume.Resume && latest.Record is not null)
        {
            throw new InvalidOperationException(
                $"{store.Description} already holds checkpoints of this run of job '{job.Name}' (latest: step {latest.Record.Step}); pass --resume to continue it, or choose another checkpoint.dir");
        }

        foreach (var stale in CheckpointHygiene.ListStale(folder.Path, latest.Committed, job.Name))
        {
            log($"removing {stale}: left by an interrupted checkpoint write or removal, never committed");
            CheckpointDirectories.Remove(stale);
        }

        var resolved = resume.Resume
            ? CheckpointResolver.Resolve(latest.Committed, CheckpointResolver.LoadVerified, resume.DiscardMissing, message => log($"WARNING: {message}"))
            : null;
        // The tensors are loaded again by the first alignment's root (RestoreCheckpoint); only the
        // small state is kept here.
        using var payload = resolved?.Payload;
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
        // Epochs of this run start above every epoch the journal or the checkpoint saw, so the
        // journal never refuses this run's commits as coming from an older epoch.
        long startEpoch = Math.Max(latest.Committed.Select(r => r.Epoch).DefaultIfEmpty(0).Max(), payload?.Epoch ?? 0);

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

        var settings = JobObjects.Coordinator(job, expectedDevices, payload?.Step ?? 0, startEpoch, resolvedJson) with { ResumeFrom = resolved?.Record };
        return new PreparedRun(sampler, schedule, settings);
    }

    /// <summary>Generates the synthetic data set into <c>data.root</c> when the job asks and it is not there.</summary>
    public static void EnsureData(JobConfig job, Action<string> log)
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
}
