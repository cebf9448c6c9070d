using System.Text.Json;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Model.Schedules;
using GppfActors.Tasks.Definitions;

namespace GppfActors.ClusterConfig.Jobs;

/// <summary>
/// The one place that turns a job into the objects that run it: the run folder's identity (what
/// decides the model's layout), the sampler and schedule state, the coordinator's settings, the
/// loaders' options. Both the single-process trainer and cluster nodes build from here.
/// </summary>
public static class JobObjects
{
    /// <summary>
    /// The job's run identity: its name and every setting that decides the keys and shapes of its
    /// checkpoints (backbone, units, optimizer kind, each task's family, classes and head options).
    /// Settings that do not (learning rate, batch sizes, data paths) may change between resumes.
    /// </summary>
    public static RunIdentity Identity(JobConfig job)
    {
        var layout = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["backbone.preset"] = job.Backbone.Preset,
            ["backbone.num_units"] = job.Backbone.NumUnits.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["optimizer.kind"] = JsonSerializer.Serialize(job.Optimizer.Kind, JobConfigLoader.Options).Trim('"'),
        };
        foreach (var task in job.Tasks)
        {
            layout[$"{task.Key}.family"] = TaskFamilies.KeyOf(task.Family);
            layout[$"{task.Key}.num_classes"] = task.NumClasses.ToString(System.Globalization.CultureInfo.InvariantCulture);
            object? options = task.Family switch
            {
                TaskFamily.Detection => task.Detection,
                TaskFamily.SemanticSegmentation => task.Segmentation,
                TaskFamily.Depth => task.Depth,
                TaskFamily.InstanceSegmentation => new { task.Detection, task.InstanceSegmentation },
                _ => null,
            };
            if (options is not null)
            {
                layout[$"{task.Key}.{TaskFamilies.KeyOf(task.Family)}"] = JsonSerializer.Serialize(options, options.GetType(), new JsonSerializerOptions(JobConfigLoader.Options) { WriteIndented = false });
            }
        }
        return new RunIdentity(job.Name, layout);
    }

    /// <summary>A fresh sampler over the job's tasks and the sizes of their training sets.</summary>
    public static TaskSamplerState Sampler(JobConfig job, JobDatasets datasets) => new(
        job.Tasks.Select(t => new SampledTask(t.Name, t.SamplingWeight, datasets.Train[t.Name].Count, t.BatchSize)).ToArray(),
        job.Seed, job.Sampling.Mode);

    /// <summary>The job's LR and temperature schedules.</summary>
    public static ScheduleState Schedule(JobConfig job) => new(
        new CosineWarmupSchedule(job.Optimizer.Lr, job.Optimizer.WarmupSteps, job.Train.MaxSteps, job.Optimizer.MinLr),
        new TemperatureSchedule(job.Routing.Tau0, job.Routing.TauMin, job.Routing.TauDecaySteps));

    /// <summary>The coordinator's settings for a run of <paramref name="devices"/> devices starting at the given step and above the given epoch.</summary>
    public static CoordinatorSettings Coordinator(JobConfig job, int devices, long startStep, long startEpoch, string resolvedJson) =>
        new CoordinatorSettings(job.Train.MaxSteps, devices, job.Eval.EverySteps, job.Eval.Batches, job.Checkpoint.EverySteps,
            job.Collectives.TimeoutSeconds, startStep, Path.GetFullPath(job.Checkpoint.Dir), resolvedJson)
        {
            StartEpoch = startEpoch,
            StartTimeoutSeconds = job.Train.StartTimeoutSeconds,
            StepTimeoutSeconds = job.Train.StepTimeoutSeconds,
            EvalTimeoutSeconds = job.Eval.TimeoutSeconds,
            CheckpointWriteTimeoutSeconds = job.Checkpoint.WriteTimeoutSeconds,
            CommitTimeoutSeconds = job.Checkpoint.CommitTimeoutSeconds,
            StepRetries = job.Train.StepRetries,
            MaxNonFiniteSteps = job.Train.MaxNonfiniteSteps,
            GroupIdFromRankZero = TrainsOnGpus(job),
        };

    /// <summary>True when the job's devices are GPUs (<c>train.devices</c> cuda, cuda:i,j): their groups are NCCL's.</summary>
    public static bool TrainsOnGpus(JobConfig job) =>
        job.Train.Devices.TrimStart().StartsWith("cuda", StringComparison.OrdinalIgnoreCase);

    /// <summary>The retention policy of the job's checkpoints.</summary>
    public static RetentionPolicy Retention(JobConfig job) => new(job.Checkpoint.KeepLast, job.Checkpoint.KeepEvery);
}
