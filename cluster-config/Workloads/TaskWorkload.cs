using System.Diagnostics;
using GppfActors.Actors.Devices;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.Collectives;
using GppfActors.Model.Network;
using GppfActors.Model.Training;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Training;
using TorchSharp;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>
/// The workload of one device for a job: the replica of the job's network, and a prefetching
/// train loader plus an evaluation data set per task. Built on the device's thread; the device
/// actor owns and disposes it.
/// </summary>
public sealed class TaskWorkload : IDeviceWorkload
{
    private readonly Dictionary<string, TaskDefinition> tasks;
    private readonly Dictionary<string, PrefetchingLoader> train = [];
    private readonly Dictionary<string, PrefetchingLoader> eval = [];

    /// <param name="shared">The weights the process's devices share, or null for a replica of the device's own.</param>
    /// <param name="start">The pre-trained weights of a fine-tuning job, or null for a fresh start.</param>
    public TaskWorkload(JobConfig job, JobDatasets datasets, DeviceId device, Action<string> log, SharedModel? shared = null, PretrainedStart? start = null)
    {
        tasks = job.Tasks.ToDictionary(t => t.Name);
        Device = TorchDevice(device);
        // A shared model already holds the starting weights; a device's network only needs the same
        // frozen layers. On a GPU the network is built on the host (the same initial weights as on a
        // CPU) and moved before the optimizer sees its parameters.
        Replica = shared is null
            ? new Replica(OnDevice(BuildNetwork(job, start), Device), job.Optimizer.ToOptimizerConfig())
            : shared.CreateReplica(() => Frozen(BuildNetwork(job), job));
        try
        {
            foreach (var task in job.Tasks)
            {
                // Training batches are augmented for the step's rank (passed with each batch), so the
                // randomness of a step depends on the ranks of the step, not on which device or node
                // runs them; the ordinal here only seeds evaluation batches, which are deterministic.
                var options = new LoaderOptions
                {
                    Seed = (long)job.Seed,
                    Rank = device.Ordinal,
                    NumWorkers = job.Data.Workers,
                    SkipBadSamples = job.Data.SkipBadSamples,
                    TimeoutSeconds = job.Data.TimeoutSeconds,
                    PinMemory = Device.type == DeviceType.CUDA,
                    Logger = message => log($"{device} {task.Name}: {message}"),
                };
                train[task.Name] = new PrefetchingLoader(datasets.Train[task.Name], TaskDatasets.Training(task), options.Validate());
                eval[task.Name] = new PrefetchingLoader(datasets.Validation[task.Name], TaskDatasets.Evaluation(task), (options with { NumWorkers = 1 }).Validate());
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public Replica Replica { get; }

    /// <summary>Where the replica and the step's batches are: the CPU for <c>cpu:K</c>, GPU K for <c>cuda:K</c>.</summary>
    public torch.Device Device { get; }

    /// <summary>The LibTorch device of <paramref name="device"/>.</summary>
    public static torch.Device TorchDevice(DeviceId device) => device.Kind switch
    {
        "cpu" => torch.CPU,
        "cuda" => new torch.Device(DeviceType.CUDA, device.Ordinal),
        _ => throw new ArgumentException($"device {device}: unknown kind '{device.Kind}'"),
    };

    private static GppfNetwork OnDevice(GppfNetwork network, torch.Device device)
    {
        if (device.type == DeviceType.CPU)
        {
            return network;
        }
        try
        {
            network.to(device);
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The job's network: initialised from the job's seed, then, for a fine-tuning job, from the
    /// pre-trained weights of <paramref name="start"/>, with <c>init.freeze_layers</c> frozen.
    /// </summary>
    public static GppfNetwork BuildNetwork(JobConfig job, PretrainedStart? start = null)
    {
        var network = new GppfNetwork(job.BackboneConfig, TaskFamilies.HeadSpecs(job.Tasks, job.BackboneConfig), (long)job.Seed)
        {
            Precision = job.Train.Precision,
        };
        try
        {
            start?.Apply(network);
            return Frozen(network, job);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static GppfNetwork Frozen(GppfNetwork network, JobConfig job)
    {
        network.FreezeLayers(job.Init.FreezeLayers);
        return network;
    }

    public DeviceStepOutcome Step(ICollectiveGroup group, StepPlan plan, IReadOnlyList<long> sampleIndices, NextStepHint? next)
    {
        var clock = Stopwatch.StartNew();
        TaskBatch batch;
        try
        {
            batch = train[plan.Task].Get(plan.Step, group.Rank, sampleIndices);
        }
        catch (DataFormatException e)
        {
            throw new DeviceDataException($"task {plan.Task}, step {plan.Step}: {e.Message}", e);
        }
        catch (InvalidOperationException e) when (e.InnerException is not null)
        {
            // An augmentation that failed on a decoded sample; the message starts with the file.
            throw new DeviceDataException($"task {plan.Task}, step {plan.Step}: {e.Message}", e);
        }
        try
        {
            double dataSeconds = clock.Elapsed.TotalSeconds;
            if (next is not null)
            {
                train[next.Task].Prefetch(next.Step, group.Rank, next.SampleIndices);
            }
            using var onDevice = batch.CopyTo(Device);
            var result = TaskTrainer.TrainStep(Replica, group, plan, onDevice ?? batch, tasks[plan.Task]);
            return new DeviceStepOutcome(result.Loss, result.Metrics, batch.Count, result.Replica, dataSeconds);
        }
        finally
        {
            Release(batch);
        }
    }

    public int LoaderQueueDepth => train.Values.Sum(l => l.PrefetchedBatches);

    public long ForeignTensorsDisposed { get; private set; }

    // A loader's batch was made on one of its workers; disposing it here lowers this thread's live count.
    private void Release(TaskBatch batch)
    {
        var stats = TorchSharp.DisposeScopeManager.Statistics;
        long live = stats.ThreadTotalLiveCount;
        batch.Dispose();
        ForeignTensorsDisposed += live - stats.ThreadTotalLiveCount;
    }

    public IReadOnlyDictionary<string, double> Evaluate(string task, int maxBatches)
    {
        var definition = tasks[task];
        var loader = eval[task];
        int count = Math.Min(loader.Dataset.Count, maxBatches * definition.BatchSize);
        return TaskEvaluation.Run(Replica.Network, definition, Batches(loader, count, definition.BatchSize));
    }

    private IEnumerable<TaskBatch> Batches(PrefetchingLoader loader, int count, int batchSize)
    {
        for (int start = 0, b = 0; start < count; start += batchSize, b++)
        {
            var indices = Enumerable.Range(start, Math.Min(batchSize, count - start)).Select(i => (long)i).ToArray();
            var batch = loader.Get(b, indices);
            try
            {
                using var onDevice = batch.CopyTo(Device);
                yield return onDevice ?? batch;
            }
            finally
            {
                Release(batch);
            }
        }
    }

    public void Dispose()
    {
        foreach (var loader in train.Values.Concat(eval.Values))
        {
            loader.Dispose();
        }
        Replica.Dispose();
    }
}
