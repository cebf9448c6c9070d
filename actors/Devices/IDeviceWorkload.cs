using GppfActors.Collectives;
using GppfActors.Model.Training;

namespace GppfActors.Actors.Devices;

/// <summary>
/// What a device actor runs: a model replica plus the data of every task, behind one synchronous
/// step call. Created on the device's own thread by an <see cref="IDeviceWorkloadFactory"/> and
/// disposed by the device actor; keeps the actor free of tensor maths.
/// </summary>
public interface IDeviceWorkload : IDisposable
{
    /// <summary>The model replica with its optimizer.</summary>
    Replica Replica { get; }

    /// <summary>Loads the samples <paramref name="sampleIndices"/> of plan.Task and runs one SIMT step; may start prefetching <paramref name="next"/>.</summary>
    DeviceStepOutcome Step(ICollectiveGroup group, StepPlan plan, IReadOnlyList<long> sampleIndices, NextStepHint? next);

    /// <summary>Evaluates <paramref name="task"/> on its held-out split (at most <paramref name="maxBatches"/> batches) and returns its metrics.</summary>
    IReadOnlyDictionary<string, double> Evaluate(string task, int maxBatches);

    /// <summary>Batches the training loaders hold or decode for coming steps (0 for a workload without prefetching).</summary>
    int LoaderQueueDepth => 0;

    /// <summary>
    /// Tensors made on other threads (the loaders' workers collate batches) that the device's thread
    /// has disposed so far: each lowers that thread's live count, which the live-tensor metric adds back.
    /// </summary>
    long ForeignTensorsDisposed => 0;

    /// <summary>The task controller's unit-selection probabilities, one row per lego layer ([L][N]).</summary>
    IReadOnlyList<IReadOnlyList<double>> UnitProbabilities(string task) => Model.Network.RoutingProbabilities.UnitProbabilities(Replica.Network, task);

    /// <summary>
    /// Copies the replica's state to host memory for a checkpoint (at a step boundary); the caller
    /// writes and disposes the payload.
    /// </summary>
    /// <exception cref="Checkpointing.NonFiniteStateException">The state holds NaN or infinite values.</exception>
    Checkpointing.CheckpointPayload CaptureCheckpoint(long step, long epoch, string scheduleJson, string samplerJson, string configJson,
        IReadOnlyDictionary<string, string> metadata) =>
        Checkpointing.CheckpointPayload.FromReplica(Replica, step, epoch, scheduleJson, samplerJson, configJson, metadata);

    /// <summary>Loads a committed checkpoint (verified against its journaled manifest hash) into the replica.</summary>
    void Restore(Checkpointing.CheckpointRecord record)
    {
        using var payload = Checkpointing.CheckpointResolver.LoadVerified(record);
        Replica.Restore(payload.ModelState, payload.OptimizerState);
    }

    /// <summary>The SHA-256 of the replica's model and optimizer state.</summary>
    string StateDigest()
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        return Model.Checkpoints.StateDigest.Of(Replica.Network.state_dict(), Replica.Optimizer.StateDict());
    }
}

/// <summary>Builds a device's workload on the device thread.</summary>
public interface IDeviceWorkloadFactory
{
    IDeviceWorkload Create(DeviceId device);

    /// <summary>
    /// Process-wide settings for the devices this process hosts (libtorch's intra-op thread pool),
    /// called once by the node agent before any device starts.
    /// </summary>
    void PrepareProcess(IReadOnlyList<DeviceId> localDevices)
    {
    }
}

/// <summary>One device's step: loss, training metrics, samples and where the time went.</summary>
public sealed record DeviceStepOutcome(double Loss, IReadOnlyDictionary<string, double> Metrics, int Samples, StepResult Timings, double DataSeconds);
