using static TorchSharp.torch;

namespace GppfActors.Model.Norm;

/// <summary>
/// The device-resident implementation of <see cref="SyncBatchNormFunction"/>'s forward and
/// backward: the same SyncBN semantics as the host path, with every statistic kept in tensors on
/// the layer's device, so a training step reads no tensor data back to the host. Chosen per layer
/// by <see cref="NormSync.StatisticsOnDevice"/> (always on a GPU; on the CPU only when forced).
/// </summary>
/// <remarks>
/// Why a second path. On a GPU each host read is a device synchronisation that drains the queue;
/// the host path makes several per BN call (per-channel sums, the all-reduced row, the staged
/// running statistics), hundreds per ResNet-50 step. Here they stay tensors; NCCL all-reduces the
/// float64 row on the device.
/// Local moments, branch-free. The host path sums about the shared shift and sums a second time
/// about the batch mean only when a host check says the shift is too far (see
/// <see cref="SyncBatchNormFunction.MaxShiftRatio"/>); that check needs a host read. This path
/// always centres about the device's own batch mean (a float64 sum, rounded to the input dtype)
/// and moves the float64 sums to the shared shift (the unit's running mean), which is what the
/// host path's recentre branch does; its precision is the host path's at least.
/// Running statistics of units no device ran (count 0 in fused hard mode) are kept by
/// a mask on the device (count &gt; 0) instead of a host branch; their staged update writes back
/// the values they hold. The global count stays a device scalar; backward needs only the local
/// batch size (host-known from the shape) to tell an empty batch.
/// Precision and rounding otherwise follow the host path step by step (float32 mean, variance and
/// 1/sqrt(var + eps); float64 per-channel arithmetic), so both paths agree to float32 rounding.
/// Failures and fused rows are handled by <see cref="SyncBatchNormFunction"/>, as for the host path.
/// </remarks>
internal static class DeviceBatchStatistics
{
    private static readonly long[] ChannelDims = [0, 2, 3];

    /// <summary>
    /// What one unit normalised with: the global count (float64 scalar) and its mean, biased
    /// variance and 1/sqrt(var + eps) (float32 [C]), all on the layer's device.
    /// </summary>
    internal sealed record Normalisation(Tensor Count, Tensor Mean, Tensor Variance, Tensor InvStd)
    {
        public IEnumerable<Tensor> Tensors => [Count, Mean, Variance, InvStd];
    }

    /// <summary>The forward of <see cref="SyncBatchNormFunction"/> on the device path.</summary>
    public static Tensor Normalise(autograd.AutogradContext ctx, Tensor x, Tensor weight, Tensor bias, SyncBatchNorm2d bn)
    {
        using var scope = NewDisposeScope();
        var statistics = bn.Sync.Replaying is { } tape
            ? tape.Take<NormTape.DeviceEntry>(bn).Statistics     // the recomputation: no collective, no running-statistics update
            : Statistics(x, bn);
        if (bn.Sync.Recording is { } recording)
        {
            recording.Record(bn, statistics);                    // the tape owns them until the replay
        }
        else if (bn.Sync.Replaying is null)
        {
            // TorchSharp saves the tensors for backward only once forward has returned, and skips disposed ones.
            foreach (var t in statistics.Tensors)
            {
                t.MoveToOuterDisposeScope();
            }
        }

        ctx.save_for_backward([x, weight, statistics.Count, statistics.Mean, statistics.InvStd]);
        if (x.numel() == 0)
        {
            return x.clone().MoveToOuterDisposeScope();    // an empty batch: nothing to normalise, but backward still joins its collective
        }
        // y = (x - mean) * a + b with a = w * invstd, written out because native_batch_norm has no
        // meta-device kernel (the no-host-read check runs there); centred first, since x * a + (b - mean * a)
        // cancels in float32 when the mean is large against the spread.
        var a = weight.to_type(float64) * statistics.InvStd.to_type(float64);                    // [C]
        var centred = x - statistics.Mean.to_type(x.dtype).view(1, -1, 1, 1);                    // [B, C, H, W]
        return centred.mul_(Broadcastable(a, x)).add_(Broadcastable(bias.to_type(float64), x)).MoveToOuterDisposeScope();   // [B, C, H, W]
    }

    /// <summary>The backward of <see cref="SyncBatchNormFunction"/> on the device path: input, weight and bias gradients, and null for the layer.</summary>
    public static List<Tensor> Gradients(autograd.AutogradContext ctx, Tensor gradOutput, SyncBatchNorm2d bn)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var x = saved[0];                                                     // [B, C, H, W]
        var weight = saved[1];                                                // [C]
        var total = saved[2];                                                 // [] float64, the global count
        var invstd = saved[4].to_type(float64);                               // [C]
        int c = checked((int)bn.NumFeatures);
        bool fused = bn.Sync.FuseUnits && bn.Siblings.Length > 1;
        int rows = fused ? bn.Siblings.Length : 1;
        int row = fused ? bn.UnitIndex : 0;

        var centred = x - saved[3].to_type(x.dtype).view(1, c, 1, 1);         // [B, C, H, W]
        var sumDy = gradOutput.sum(ChannelDims);                              // [C], the bias gradient
        // sum dy*xhat = invstd * sum dy*(x - mean), per channel
        var sumDyXhat = invstd * (gradOutput * centred).sum(ChannelDims).to_type(float64);   // [C]

        var sums = zeros(rows, 2 * c, dtype: float64, device: bn.RunningMean.device);        // [rows, 2C]: sum dy, sum dy*xhat
        var own = sums[row];                                                  // [2C], a view
        own.narrow(0, 0, c).copy_(sumDy);
        own.narrow(0, c, c).copy_(sumDyXhat);
        bn.Sync.Group!.AllReduceSum([sums], fused ? $"syncbn-backward {bn.Tag}" : $"syncbn-backward {bn.Tag} unit {bn.UnitIndex}");

        var gradWeight = sumDyXhat.to_type(float32).to_type(x.dtype);
        if (x.numel() == 0)
        {
            return SyncBatchNormFunction.Outer([zeros_like(x), gradWeight, sumDy]);
        }

        // dx = w*invstd * (dy - sum_dy/n - xhat * sum_dy_xhat/n), rewritten as
        // dy*a + (x - mean)*b + k with per-channel a, b, k, computed in place in the centred input.
        var ai = weight.to_type(float64) * invstd;                            // [C]
        var meanDy = own.narrow(0, 0, c) / total;                             // [C]
        var meanDyXhat = own.narrow(0, c, c) / total;                         // [C]
        var a = Broadcastable(ai, x);
        var b = Broadcastable(-ai * invstd * meanDyXhat, x);
        var k = Broadcastable(-ai * meanDy, x);
        var gradInput = centred.mul_(b).add_(k).addcmul_(gradOutput, a, 1);   // [B, C, H, W]
        return SyncBatchNormFunction.Outer([gradInput, gradWeight, sumDy]);
    }

    // The global batch statistics of this unit (all-reduced; fused over the lego layer's units in
    // hard mode), with the running statistics of every unit updated or staged (kept where no device ran it).
    private static Normalisation Statistics(Tensor x, SyncBatchNorm2d bn)
    {
        int c = checked((int)bn.NumFeatures);
        bool fused = bn.Sync.FuseUnits && bn.Siblings.Length > 1;
        int rows = fused ? bn.Siblings.Length : 1;
        int row = fused ? bn.UnitIndex : 0;
        var units = fused ? bn.Siblings : [bn];

        // stats row layout: [n, sum(x - s) (C), sum((x - s)^2) (C)] with the shift s = the unit's
        // running mean, identical on every replica, so the rows of all devices can simply be added.
        var stats = zeros(rows, 1 + 2 * c, dtype: float64, device: bn.RunningMean.device);   // [rows, 1 + 2C]
        long n = x.numel() / Math.Max(1, c);
        if (n > 0)
        {
            var (sum, squares) = LocalMoments(x, bn.RunningMean.to_type(float64), n);
            var own = stats[row];                                                             // [1 + 2C], a view
            own[0].fill_(n);
            own.narrow(0, 1, c).copy_(sum);
            own.narrow(0, 1 + c, c).copy_(squares);
        }
        bn.Sync.Group!.AllReduceSum([stats], fused ? $"syncbn-forward {bn.Tag}" : $"syncbn-forward {bn.Tag} unit {bn.UnitIndex}");

        var counts = stats.select(1, 0);                                      // [rows]
        var divisor = counts.clamp_min(1).unsqueeze(1);                       // [rows, 1]; counts are whole, so only 0 changes
        var centredMean = stats.narrow(1, 1, c) / divisor;                    // [rows, C]
        var shifts = stack(units.Select(u => u.RunningMean)).to_type(float64);   // [rows, C]
        var mean = shifts + centredMean;                                      // [rows, C]
        var variance = (stats.narrow(1, 1 + c, c) / divisor - centredMean * centredMean).clamp_min(0);   // [rows, C]
        for (int k = 0; k < rows; k++)
        {
            units[k].UpdateRunningStats(mean[k], variance[k], counts[k]);
        }
        var ownVariance = variance[row];
        return new Normalisation(counts[row], mean[row].to_type(float32), ownVariance.to_type(float32),
            (ownVariance + bn.Eps).rsqrt().to_type(float32));
    }

    // Per channel, sum(x - s) and sum((x - s)^2) over this device's batch (float64 [C] each), about
    // the device's own mean m (rounded to x's dtype) and moved to the shift s in float64:
    // sum(x - s) = S1 + n d, sum((x - s)^2) = S2 + 2 d S1 + n d^2 with d = m - s.
    private static (Tensor Sum, Tensor Squares) LocalMoments(Tensor x, Tensor shift, long n)
    {
        var centre = (x.sum(ChannelDims, type: float64) / n).to_type(x.dtype);       // [C]
        var centred = x - centre.view(1, -1, 1, 1);                                  // [B, C, H, W]
        var s1 = centred.sum(ChannelDims, type: float64);                             // [C]
        var s2 = centred.pow_(2).sum(ChannelDims, type: float64);                     // [C]; in place: centred is not needed again
        var d = centre.to_type(float64) - shift;                                      // [C]
        return (s1 + d * n, s2 + 2 * d * s1 + d * d * n);
    }

    // A [1, C, 1, 1] view of float64 per-channel values in x's dtype (through float32, as the host path rounds them).
    private static Tensor Broadcastable(Tensor values, Tensor x) => values.to_type(float32).to_type(x.dtype).view(1, -1, 1, 1);
}
