using GppfActors.ClusterConfig.Jobs;
using GppfActors.Tasks.Data;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>
/// The train and validation data sets of every task of a job, opened once per process (indexing
/// a folder or a COCO file can take long on real data) and shared by all local devices: a data set
/// decodes any index on any thread and keeps no cursor, so sharing it is safe.
/// </summary>
public sealed class JobDatasets
{
    private JobDatasets(IReadOnlyDictionary<string, ITaskDataset> train, IReadOnlyDictionary<string, ITaskDataset> validation)
    {
        Train = train;
        Validation = validation;
    }

    /// <summary>Training split per task name.</summary>
    public IReadOnlyDictionary<string, ITaskDataset> Train { get; }

    /// <summary>Held-out split per task name.</summary>
    public IReadOnlyDictionary<string, ITaskDataset> Validation { get; }

    /// <summary>The run folder's sub-folder that holds the cached folder listings of the job's data.</summary>
    public const string IndexCacheFolder = "data-index";

    /// <summary>Opens every split; folder listings are cached in the run folder, so a resume does not list millions of files again.</summary>
    public static JobDatasets Open(JobConfig job)
    {
        var cache = Path.Combine(job.Checkpoint.Dir, IndexCacheFolder);
        return new(
            job.Tasks.ToDictionary(t => t.Name, t => TaskDatasets.Open(t, job.Data.Root, "train", cache)),
            job.Tasks.ToDictionary(t => t.Name, t => TaskDatasets.Open(t, job.Data.Root, "val", cache)));
    }
}
