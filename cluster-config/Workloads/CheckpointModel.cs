using GppfActors.Actors.Checkpointing;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.Model.Checkpoints;
using GppfActors.Model.Network;
using GppfActors.Tasks.Definitions;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>A committed checkpoint opened for inspection or export: verified, its job rebuilt, its network restored.</summary>
public sealed class CheckpointModel : IDisposable
{
    private CheckpointModel(string directory, JobConfig job, GppfNetwork network, long step)
    {
        Directory = directory;
        Job = job;
        Network = network;
        Step = step;
    }

    public string Directory { get; }

    public JobConfig Job { get; }

    public GppfNetwork Network { get; }

    public long Step { get; }

    /// <summary>
    /// Opens <paramref name="path"/>: a checkpoint directory (step-N), or a run directory, whose
    /// newest complete checkpoint is used. Every file is verified against the manifest first; then
    /// only the model file is read, once (the optimizer state is hashed, never loaded).
    /// </summary>
    public static CheckpointModel Open(string path)
    {
        string directory = File.Exists(Path.Combine(path, CheckpointLayout.ManifestFile)) ? path : Newest(path);
        var checkpoint = CheckpointReader.Describe(directory);
        var job = JobConfigLoader.FromResolvedJson(checkpoint.ConfigJson);
        var network = new GppfNetwork(job.BackboneConfig, TaskFamilies.HeadSpecs(job.Tasks, job.BackboneConfig), (long)job.Seed);
        try
        {
            StateDicts.LoadExact(network, Path.Combine(directory, CheckpointLayout.ModelFile));
        }
        catch
        {
            network.Dispose();
            throw;
        }
        network.eval();
        return new CheckpointModel(directory, job, network, checkpoint.Step);
    }

    public void Dispose() => Network.Dispose();

    private static string Newest(string runDirectory)
    {
        if (!System.IO.Directory.Exists(runDirectory))
        {
            throw new DirectoryNotFoundException($"{runDirectory}: no such checkpoint or run directory");
        }
        var newest = System.IO.Directory.GetDirectories(runDirectory)
            .Select(d => (Dir: d, Ok: CheckpointLayout.TryParse(Path.GetFileName(d), out long step, out string suffix) && suffix.Length == 0, Step: step))
            .Where(x => x.Ok && File.Exists(Path.Combine(x.Dir, CheckpointLayout.ManifestFile)))
            .OrderByDescending(x => x.Step)
            .FirstOrDefault();
        return newest.Dir ?? throw new DirectoryNotFoundException($"{runDirectory}: holds no complete checkpoint (step-N directory with a manifest)");
    }
}
