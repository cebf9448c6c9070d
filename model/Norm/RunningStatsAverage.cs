namespace GppfActors.Model.Norm;

/// <summary>
/// Keeps the running statistics of per-device BatchNorm (the SyncBatchNorm = false ablation)
/// identical on every replica: each layer's staged update is averaged over the devices that ran
/// the layer in this step, inside the task-average all-reduce (no collective of its own).
/// </summary>
/// <remarks>
/// Without this each device moves its buffers towards its own task's statistics and the replicas
/// drift apart. DDP's answer is to broadcast rank 0's buffers before every forward; that costs a
/// collective per step and gives the statistics of whichever task rank 0 drew. Averaging the
/// updates costs a few values per channel in the fusion all-reduce and gives the task average, in
/// line with how the gradients are fused. The sums run in rank order like every all-reduce of the
/// group, so every replica divides the same bits and commits the same values. Layers nobody ran
/// (hard mode) contribute count 0 everywhere and stay as they are.
/// </remarks>
internal static class RunningStatsAverage
{
    /// <summary>This device's staged updates of <paramref name="layers"/> (same order on every replica), ready to be summed over the group.</summary>
    public static float[] Pack(IReadOnlyList<SyncBatchNorm2d> layers)
    {
        var values = new float[layers.Sum(bn => bn.ExchangeWidth)];
        int offset = 0;
        foreach (var bn in layers)
        {
            bn.WriteExchange(values.AsSpan(offset, bn.ExchangeWidth));
            offset += bn.ExchangeWidth;
        }
        return values;
    }

    /// <summary>Stages, on every layer some device ran, the average of the updates in <paramref name="sums"/> (the group's sum of <see cref="Pack"/>).</summary>
    public static void Unpack(IReadOnlyList<SyncBatchNorm2d> layers, float[] sums)
    {
        int offset = 0;
        foreach (var bn in layers)
        {
            bn.ReadExchange(sums.AsSpan(offset, bn.ExchangeWidth));
            offset += bn.ExchangeWidth;
        }
    }
}
