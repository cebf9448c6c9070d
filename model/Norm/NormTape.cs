namespace GppfActors.Model.Norm;

/// <summary>
/// The batch statistics the synced BN layers of one checkpointed lego layer computed in its first,
/// gradient-free pass, in call order; the recomputation in backward takes them back in the same
/// order instead of all-reducing and staging running statistics a second time. Created per call by
/// <see cref="Backbone.CheckpointedForward"/>, held by its autograd node until backward.
/// </summary>
/// <remarks>
/// Layers on the device path (<see cref="DeviceBatchStatistics"/>) record device tensors: they are
/// taken out of every dispose scope (the first pass's scope ends long before backward) and belong to
/// the tape, which disposes them in <see cref="Release"/> once the replay is over or will not come.
/// </remarks>
internal sealed class NormTape
{
    private readonly List<Recorded> entries = [];
    private int next;

    /// <summary>Statistics entries recorded so far.</summary>
    public int Count => entries.Count;

    /// <summary>Appends what <paramref name="layer"/> normalised with in the first pass.</summary>
    public void Record(SyncBatchNorm2d layer, double count, float[] mean, float[] variance, float[] invStd) =>
        entries.Add(new Entry(layer, count, mean, variance, invStd));

    /// <summary>Appends what <paramref name="layer"/> normalised with in the first pass, as device tensors the tape now owns.</summary>
    public void Record(SyncBatchNorm2d layer, DeviceBatchStatistics.Normalisation statistics)
    {
        foreach (var t in statistics.Tensors)
        {
            t.DetachFromDisposeScope();
        }
        entries.Add(new DeviceEntry(layer, statistics));
    }

    /// <summary>Disposes the device tensors recorded (the entries cannot be taken afterwards).</summary>
    public void Release()
    {
        foreach (var entry in entries.OfType<DeviceEntry>())
        {
            foreach (var t in entry.Statistics.Tensors)
            {
                t.Dispose();
            }
        }
        entries.Clear();
        next = 0;
    }

    /// <summary>Starts a replay from the first entry.</summary>
    public void Rewind() => next = 0;

    /// <summary>
    /// The next entry, which must belong to <paramref name="layer"/>: the recomputation runs the same
    /// units along the same route, so a mismatch means the replay diverged and its gradients would be wrong.
    /// </summary>
    public T Take<T>(SyncBatchNorm2d layer)
        where T : Recorded
    {
        if (next >= entries.Count || !ReferenceEquals(entries[next].Layer, layer))
        {
            throw new InvalidOperationException(
                $"activation checkpointing: the recomputation reached {layer.Tag} unit {layer.UnitIndex} where the first pass recorded " +
                (next < entries.Count ? $"{entries[next].Layer.Tag} unit {entries[next].Layer.UnitIndex}" : "nothing more"));
        }
        return entries[next++] as T
            ?? throw new InvalidOperationException($"activation checkpointing: {layer.Tag} unit {layer.UnitIndex} switched between host and device statistics");
    }

    /// <summary>One synced BN call of <see cref="Layer"/>.</summary>
    public abstract record Recorded(SyncBatchNorm2d Layer);

    /// <summary>One host-path call: its layer, the global count and its own unit's mean, biased variance and 1/sqrt(var + eps).</summary>
    public sealed record Entry(SyncBatchNorm2d Layer, double Count, float[] Mean, float[] Variance, float[] InvStd) : Recorded(Layer);

    /// <summary>One device-path call: the same values, as tensors on the layer's device.</summary>
    public sealed record DeviceEntry(SyncBatchNorm2d Layer, DeviceBatchStatistics.Normalisation Statistics) : Recorded(Layer);
}
