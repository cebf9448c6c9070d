using GppfActors.ClusterConfig.Jobs;
using GppfActors.Model.Network;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>
/// The pre-trained start of a fine-tuning job (<c>init.checkpoint</c>): the checkpoint verified and
/// loaded once per process, checked against the job, and the path resolved, so every device's
/// network (and a device rebuilt after a fault) starts from the same weights. Owned by the node,
/// which disposes it when the run ends.
/// </summary>
public sealed class PretrainedStart : IDisposable
{
    private readonly CheckpointModel source;
    private readonly InitSection init;

    private PretrainedStart(CheckpointModel source, InitSection init, IReadOnlyList<int>? path)
    {
        this.source = source;
        this.init = init;
        Path = path;
    }

    /// <summary>The checkpoint directory the weights come from.</summary>
    public string Directory => source.Directory;

    /// <summary>The pre-training step of that checkpoint.</summary>
    public long Step => source.Step;

    /// <summary>The path fine-tuned (fixed mode), or null (dynamic mode).</summary>
    public IReadOnlyList<int>? Path { get; }

    /// <summary>
    /// Opens <c>init.checkpoint</c> of <paramref name="job"/>, or returns null for a fresh start.
    /// Throws <see cref="ArgumentException"/> naming <c>init.*</c> when the checkpoint is missing,
    /// corrupt or of another architecture, or the path does not fit it.
    /// </summary>
    public static PretrainedStart? Open(JobConfig job, Action<string> log)
    {
        var init = job.Init;
        if (!init.FromCheckpoint)
        {
            return null;
        }
        CheckpointModel model;
        try
        {
            model = CheckpointModel.Open(init.Checkpoint);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ArgumentException($"init.checkpoint '{init.Checkpoint}': {e.Message}", e);
        }
        try
        {
            var pretrained = model.Job.Backbone;
            JobConfig.Check(pretrained.Preset == job.Backbone.Preset, "backbone.preset",
                $"must be the pre-trained backbone's, '{pretrained.Preset}' (init.checkpoint {model.Directory}), got '{job.Backbone.Preset}'");
            IReadOnlyList<int>? path = null;
            if (init.Mode == InitSection.DynamicMode)
            {
                JobConfig.Check(pretrained.NumUnits == job.Backbone.NumUnits, "backbone.num_units",
                    $"must be the pre-trained backbone's, {pretrained.NumUnits} (init.checkpoint {model.Directory}), for dynamic fine-tuning; got {job.Backbone.NumUnits}");
                var kept = job.Tasks.Select(t => t.Name).Intersect(model.Job.Tasks.Select(t => t.Name)).ToList();
                log($"dynamic fine-tuning from {model.Directory} (step {model.Step}); " +
                    (kept.Count == 0 ? "every task is new" : $"tasks keeping their pre-trained controller and head: {string.Join(", ", kept)}"));
            }
            else
            {
                if (init.PathFrom.Length > 0)
                {
                    JobConfig.Check(model.Network.TaskNames.Contains(init.PathFrom), "init.path_from",
                        $"names no task of the checkpoint {model.Directory} (its tasks: {string.Join(", ", model.Network.TaskNames)}), got '{init.PathFrom}'");
                    path = model.Network.Controller(init.PathFrom).ArgMaxPath();
                }
                else
                {
                    path = init.Path;
                }
                JobConfig.Check(path.All(k => k < pretrained.NumUnits), "init.path",
                    $"must pick units below {pretrained.NumUnits} (the pre-trained backbone's units per layer), got [{string.Join(", ", path)}]");
                log($"fixed-path fine-tuning from {model.Directory} (step {model.Step}) along " +
                    $"[{string.Join(", ", path)}]{(init.PathFrom.Length > 0 ? $", the arg-max path of task {init.PathFrom}" : "")}");
            }
            if (init.FreezeLayers > 0)
            {
                log($"the first {init.FreezeLayers} lego layers (the stem first) keep their pre-trained weights");
            }
            return new PretrainedStart(model, init, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Copies the pre-trained weights into <paramref name="network"/> (a freshly built network of the job).</summary>
    public void Apply(GppfNetwork network)
    {
        var state = source.Network.state_dict();
        if (Path is null)
        {
            network.LoadPretrained(state, network.TaskNames.Intersect(source.Network.TaskNames));
        }
        else
        {
            network.LoadPath(state, Path);
        }
    }

    /// <summary>The job's lego layers that stay at their pre-trained weights.</summary>
    public int FreezeLayers => init.FreezeLayers;

    public void Dispose() => source.Dispose();
}
