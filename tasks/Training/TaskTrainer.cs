using GppfActors.Collectives;
using GppfActors.Model.Training;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Training;

/// <summary>
/// The single-task train step a device actor calls each iteration: builds the loss closure of the
/// task's family (batch augmentation from a generator seeded by (seed, step, rank), forward, loss
/// times the task's loss weight) and runs it through <see cref="Replica.TrainStep"/>, which does
/// the backward, SyncBN collectives, task-average fusion and the optimizer step.
/// </summary>
public static class TaskTrainer
{
    /// <summary>
    /// Runs one step of <paramref name="task"/> on <paramref name="batch"/> (its tensors on the
    /// network's device). Every tensor the step creates lives in the replica's one dispose scope;
    /// the training statistics leave it as one small detached tensor read after backward.
    /// </summary>
    public static TaskStepResult TrainStep(Replica replica, ICollectiveGroup group, StepPlan plan, TaskBatch batch, TaskDefinition task)
    {
        if (plan.Task != task.Name)
        {
            throw new ArgumentException($"the plan is for task '{plan.Task}' but the batch's task is '{task.Name}'", nameof(task));
        }
        var family = TaskFamilies.For(task, replica.Network.Config);
        using var generator = new Generator(StepSeeds.For(plan.Seed, plan.Step, group.Rank, StepSeeds.Augmentation));
        string[] names = [];
        Tensor? statistics = null;
        try
        {
            var step = replica.TrainStep(group, plan, (network, request) =>
            {
                var input = family.PrepareTraining(batch, generator);
                var output = network.Forward(task.Name, input.Images, request);
                var loss = family.ComputeLoss(output, input);
                names = loss.Metrics.Select(m => m.Name).ToArray();
                // Read after backward, so the device is not synchronised between forward and backward.
                statistics = stack(loss.Metrics.Select(m => m.Value.detach().to_type(float64).reshape(1)).ToArray()).DetachFromDisposeScope();
                return loss.Value * task.LossWeight;
            });
            var values = HostValues(statistics!);
            var metrics = names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => values[p.i]);
            return new TaskStepResult(task.Name, step.Loss, metrics, step);
        }
        finally
        {
            statistics?.Dispose();
        }
    }

    // cpu() wraps even a host tensor in a new handle, which would outlive the step's scope.
    private static double[] HostValues(Tensor values)
    {
        if (values.device_type == TorchSharp.DeviceType.CPU)
        {
            return values.data<double>().ToArray();
        }
        using var host = values.cpu();
        return host.data<double>().ToArray();
    }
}
