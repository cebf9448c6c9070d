using GppfActors.Collectives;
using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Precision;
using GppfActors.Model.Routing;
using GppfActors.Model.Training;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Training;

namespace GppfActors.Tasks.Tests.Support;

/// <summary>A one-device training setup on the tiny backbone (or the one given): replica, in-process group of 1, plans; AdamW unless told otherwise.</summary>
public sealed class TinyTraining : IDisposable
{
    public TinyTraining(TaskDefinition task, double learningRate = 5e-3, long seed = 3, BackboneConfig? backbone = null, OptimizerConfig? optimizer = null,
        ComputePrecision precision = ComputePrecision.Fp32)
    {
        TorchThreads.LimitToOne();
        Task = task;
        Backbone = backbone ?? BackboneConfig.Tiny(2);
        var network = new GppfNetwork(Backbone, TaskFamilies.HeadSpecs([task], Backbone), seed) { Precision = precision };
        Replica = new Replica(network, optimizer ?? new OptimizerConfig(OptimizerKind.AdamW, WeightDecay: 1e-4));
        Group = new InProcessCollectiveHub(1, 1, TimeSpan.FromSeconds(30)).Join(0);
        LearningRate = learningRate;
    }

    public TaskDefinition Task { get; }

    public BackboneConfig Backbone { get; }

    public Replica Replica { get; }

    public ICollectiveGroup Group { get; }

    public double LearningRate { get; }

    public StepPlan Plan(long step) => new(step, Task.Name, [Task.Name], RoutingMode.Soft, 1.0, LearningRate, 11);

    /// <summary>One step on a fresh tiny batch of (seed, step).</summary>
    public TaskStepResult Step(long step, ulong dataSeed = 5)
    {
        using var batch = TinyData.Batch(Task, dataSeed, step);
        return TaskTrainer.TrainStep(Replica, Group, Plan(step), batch, Task);
    }

    public void Dispose()
    {
        Group.Dispose();
        Replica.Dispose();
    }
}
