namespace GppfActors.Model.Norm;

/// <summary>
/// The batch statistics the synced BN layers of one checkpointed lego layer computed in its first,
/// gradient-free pass, in call order; the recomputation in backward takes them back in the same
/// order instead of all-reducing and staging running statistics a second time. Created per call by
/// <see cref="Backbone.CheckpointedForward"/>, held by its autograd node until backward.
/// </summary>
internal sealed class NormTape
{
    private readonly List<Entry> entries = [];
    private int next;

    /// <summary>Statistics entries recorded so far.</summary>
    public int Count => entries.Count;

    /// <summary>Appends what <paramref name="layer"/> normalised with in the first pass.</summary>
    public void Record(SyncBatchNorm2d layer, double count, float[] mean, float[] variance, float[] invStd) =>
        entries.Add(new Entry(layer, count, mean, variance, invStd));

    /// <summary>Starts a replay from the first entry.</summary>
    public void Rewind() => next = 0;

    /// <summary>
    /// The next entry, which must belong to <paramref name="layer"/>: the recomputation runs the same
    /// units along the same route, so a mismatch means the replay diverged and its gradients would be wrong.
    /// </summary>
    public Entry Take(SyncBatchNorm2d layer)
    {
        if (next >= entries.Count || !ReferenceEquals(entries[next].Layer, layer))
        {
            throw new InvalidOperationException(
                $"activation checkpointing: the recomputation reached {layer.Tag} unit {layer.UnitIndex} where the first pass recorded " +
                (next < entries.Count ? $"{entries[next].Layer.Tag} unit {entries[next].Layer.UnitIndex}" : "nothing more"));
        }
        return entries[next++];
    }

    /// <summary>One synced BN call: its layer, the global count and its own unit's mean, biased variance and 1/sqrt(var + eps).</summary>
    public sealed record Entry(SyncBatchNorm2d Layer, double Count, float[] Mean, float[] Variance, float[] InvStd);
}
