using static TorchSharp.torch;

namespace GppfActors.Model.Norm;

/// <summary>
/// The autograd function behind <see cref="SyncBatchNorm2d"/> in training with a group: forward
/// all-reduces per-channel (count, sum, sum of squares) about a shared shift, backward all-reduces
/// (sum dy, sum dy*xhat), so outputs and gradients equal batch norm over the concatenation of
/// every device's batch.
/// </summary>
/// <remarks>
/// Precision. Each device sums x - s and (x - s)^2 in float32 about the unit's running mean s (a
/// shift every replica shares). Those sums lose about n d^2 / M2 times float32 rounding, d being s's
/// distance from the device's batch mean (the running mean trails the batch mean, and starts at 0);
/// when that ratio exceeds <see cref="MaxShiftRatio"/> for any channel the device sums again about
/// its own mean, estimated from the first sums, and converts the result back to the shared shift
/// in float64. Devices then add their float64 sums in one all-reduce (the parallel-variance
/// combination written as plain sums about a common shift; its cancellation is float64's, about
/// 1e-16 (d/std)^2 relative). Backward sums dy * (x - mean) on the centred input rather than
/// forming sum(dy*x) - mean*sum(dy), which cancels the same way.
/// Cost. The per-channel arithmetic (C values) runs in managed code and the element-wise work in a
/// handful of fused tensor ops, because on small CPU layers the number of tensor ops, not their
/// size, dominates; temporaries live in a scope of their own rather than until the step ends.
/// Failures. Inside a step (<see cref="NormSync.InStep"/>) a failed forward collective is recorded
/// rather than thrown (a throw would leak the half-built autograd node and the graph behind it) and
/// the rest of the forward skips its collectives; a failure inside backward is always recorded and
/// backward finishes with zero gradients, because an exception must not cross libtorch's frames.
/// The step owner rethrows it with <see cref="NormSync.ThrowIfFailed"/>.
/// Where. Here the statistics are host arrays: on the CPU that is the cheapest. Where every host
/// read is a device synchronisation (a GPU), or when <see cref="NormSync.ForceDeviceStatistics"/>
/// says so, <see cref="DeviceBatchStatistics"/> computes the same statistics as device tensors.
/// The weight and bias gradients returned are this device's own share; task-average fusion
/// combines them across devices afterwards. In fused mode the buffers hold one row per unit of the
/// lego layer ([N, 2C+1] forward, [N, 2C] backward) and this device fills only its unit's row.
/// </remarks>
public sealed class SyncBatchNormFunction : autograd.SingleTensorFunction<SyncBatchNormFunction>
{
    /// <summary>Largest n d^2 / M2 (see remarks) at which a device keeps its sums about the shared shift.</summary>
    public const double MaxShiftRatio = 1.0;

    private static readonly long[] ChannelDims = [0, 2, 3];

    public override string Name => "SyncBatchNorm2d";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];                                 // [B, C, H, W]
        var weight = (Tensor)vars[1];                            // [C]
        var bias = (Tensor)vars[2];                              // [C]
        var bn = (SyncBatchNorm2d)vars[3];
        ctx.save_data("bn", bn);
        var sync = bn.Sync;
        try
        {
            if (sync.StatisticsOnDevice(bn))
            {
                ctx.save_data("device", true);
                return DeviceBatchStatistics.Normalise(ctx, x, weight, bias, bn);
            }
            return Normalise(ctx, x, weight, bias, bn);
        }
        catch (Exception e) when (sync.InStep)
        {
            sync.RecordFailure(e);
            return Abandon(ctx, x);
        }
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var bn = (SyncBatchNorm2d)ctx.get_data("bn");
        var sync = bn.Sync;
        try
        {
            sync.EnterBackward();
            if (sync.Failure is not null || ctx.get_data("abandoned") is true)
            {
                return Zeros(gradOutput, bn);
            }
            return ctx.get_data("device") is true
                ? DeviceBatchStatistics.Gradients(ctx, gradOutput, bn)
                : Gradients(ctx, gradOutput, bn);
        }
        catch (Exception e)
        {
            sync.RecordFailure(e);
            return Zeros(gradOutput, bn);
        }
    }

    private static Tensor Normalise(autograd.AutogradContext ctx, Tensor x, Tensor weight, Tensor bias, SyncBatchNorm2d bn)
    {
        using var scope = NewDisposeScope();
        var (count, ownMean, ownVar, ownInvStd) = bn.Sync.Replaying is { } tape
            ? Replayed(tape.Take<NormTape.Entry>(bn))
            : Statistics(x, bn);
        bn.Sync.Recording?.Record(bn, count, ownMean, ownVar, ownInvStd);

        ctx.save_data("count", count);
        ctx.save_data("mean", ownMean);
        ctx.save_data("invstd", ownInvStd);
        ctx.save_for_backward([x, weight]);
        if (x.numel() == 0)
        {
            return x.clone().MoveToOuterDisposeScope();    // an empty batch: nothing to normalise, but backward still joins its collective
        }
        return nn.functional.batch_norm(x, ChannelValues.Vector(ownMean, x), ChannelValues.Vector(ownVar, x), weight, bias, false, 0.0, bn.Eps)
            .MoveToOuterDisposeScope();
    }

    // The recomputation of a checkpointed layer normalises with what the first pass computed: no
    // collective, no running-statistics update (the first pass staged it).
    private static (double Count, float[] Mean, float[] Var, float[] InvStd) Replayed(NormTape.Entry entry) =>
        (entry.Count, entry.Mean, entry.Variance, entry.InvStd);

    // The global batch statistics of this unit (all-reduced; fused over the lego layer's units in
    // hard mode), with the running statistics of every unit that ran anywhere updated or staged.
    private static (double Count, float[] Mean, float[] Var, float[] InvStd) Statistics(Tensor x, SyncBatchNorm2d bn)
    {
        int c = checked((int)bn.NumFeatures);
        bool fused = bn.Sync.FuseUnits && bn.Siblings.Length > 1;
        int rows = fused ? bn.Siblings.Length : 1;
        int row = fused ? bn.UnitIndex : 0;
        int width = 2 * c + 1;

        // stats row layout: [n, sum(x - s) (C), sum((x - s)^2) (C)] with the shift s = the unit's
        // running mean, identical on every replica, so the rows of all devices can simply be added.
        var stats = new double[rows * width];
        double n = x.numel() / Math.Max(1, c);
        if (n > 0)
        {
            var (sum, squares) = LocalMoments(x, ChannelValues.ToDoubles(bn.RunningMean), n);
            int o = row * width;
            stats[o] = n;
            sum.CopyTo(stats, o + 1);
            squares.CopyTo(stats, o + 1 + c);
        }
        stats = AllReduce(bn, stats, fused ? $"syncbn-forward {bn.Tag}" : $"syncbn-forward {bn.Tag} unit {bn.UnitIndex}");

        var ownMean = new float[c];
        var ownInvStd = new float[c];
        var ownVar = new float[c];
        for (int k = 0; k < rows; k++)
        {
            int o = k * width;
            double nk = stats[o];
            if (nk <= 0)
            {
                continue;        // no device ran this unit: its running statistics stay as they are
            }
            var meanK = new double[c];
            var varK = new double[c];
            var unit = fused ? bn.Siblings[k] : bn;
            var shiftK = ChannelValues.ToDoubles(unit.RunningMean);
            for (int i = 0; i < c; i++)
            {
                double centredMean = stats[o + 1 + i] / nk;
                meanK[i] = shiftK[i] + centredMean;
                varK[i] = Math.Max(0, stats[o + 1 + c + i] / nk - centredMean * centredMean);
            }
            unit.UpdateRunningStats(meanK, varK, nk);
            if (k == row)
            {
                for (int i = 0; i < c; i++)
                {
                    ownMean[i] = (float)meanK[i];
                    ownVar[i] = (float)varK[i];
                    ownInvStd[i] = (float)(1.0 / Math.Sqrt(varK[i] + bn.Eps));
                }
            }
        }

        return (stats[row * width], ownMean, ownVar, ownInvStd);
    }

    // Per channel, sum(x - s) and sum((x - s)^2) over this device's batch, accurate to float32
    // rounding of the centred values whatever the distance of s from the batch mean (see remarks).
    private static (double[] Sum, double[] Squares) LocalMoments(Tensor x, double[] shift, double n)
    {
        int c = shift.Length;
        var shift32 = new float[c];
        for (int i = 0; i < c; i++)
        {
            shift32[i] = (float)shift[i];
        }
        var (sum, squares) = CentredSums(x, shift32);
        bool recentre = false;
        var better = new float[c];
        for (int i = 0; i < c; i++)
        {
            double d = sum[i] / n;
            recentre |= n * d * d > MaxShiftRatio * (squares[i] - sum[i] * d);
            better[i] = (float)(shift32[i] + d);
        }
        if (!recentre)
        {
            return (sum, squares);
        }

        // Sums about the device's own mean (better, within float32 rounding of it), then moved to
        // the shared shift in float64: sum(x - s) = S1 + n delta, sum((x - s)^2) = S2 + 2 delta S1 + n delta^2.
        var (sum1, squares1) = CentredSums(x, better);
        for (int i = 0; i < c; i++)
        {
            double delta = (double)better[i] - shift32[i];
            sum[i] = sum1[i] + n * delta;
            squares[i] = squares1[i] + 2 * delta * sum1[i] + n * delta * delta;
        }
        return (sum, squares);
    }

    // Two sums rather than var_mean: over dims (0, 2, 3) var_mean is twenty times slower on CPU.
    private static (double[] Sum, double[] Squares) CentredSums(Tensor x, float[] shift)
    {
        var centred = x - ChannelValues.Broadcastable(shift, x);                      // [B, C, H, W]
        var sum = ChannelValues.ToDoubles(centred.sum(ChannelDims));
        var squares = ChannelValues.ToDoubles(centred.pow_(2).sum(ChannelDims));      // in place: centred is not needed again
        return (sum, squares);
    }

    private static List<Tensor> Gradients(autograd.AutogradContext ctx, Tensor gradOutput, SyncBatchNorm2d bn)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var x = saved[0];                                                     // [B, C, H, W]
        var weight = saved[1];                                                // [C]
        double total = (double)ctx.get_data("count");
        var mean = (float[])ctx.get_data("mean");
        var invstd = (float[])ctx.get_data("invstd");
        int c = mean.Length;
        bool fused = bn.Sync.FuseUnits && bn.Siblings.Length > 1;
        int rows = fused ? bn.Siblings.Length : 1;
        int row = fused ? bn.UnitIndex : 0;

        var centred = x - ChannelValues.Broadcastable(mean, x);               // [B, C, H, W]
        var sumDyT = gradOutput.sum(ChannelDims);                             // [C]
        var sumDy = ChannelValues.ToDoubles(sumDyT);
        var sumDyCentred = ChannelValues.ToDoubles((gradOutput * centred).sum(ChannelDims));

        // sum dy*xhat = invstd * sum dy*(x - mean), per channel
        var sums = new double[rows * 2 * c];
        var localDyXhat = new float[c];
        for (int i = 0; i < c; i++)
        {
            double dyXhat = invstd[i] * sumDyCentred[i];
            sums[row * 2 * c + i] = sumDy[i];
            sums[row * 2 * c + c + i] = dyXhat;
            localDyXhat[i] = (float)dyXhat;
        }
        sums = AllReduce(bn, sums, fused ? $"syncbn-backward {bn.Tag}" : $"syncbn-backward {bn.Tag} unit {bn.UnitIndex}");

        var gradWeight = ChannelValues.Vector(localDyXhat, x);
        if (x.numel() == 0 || total <= 0)
        {
            return Outer([zeros_like(x), gradWeight, sumDyT]);
        }

        // dx = w*invstd * (dy - sum_dy/n - xhat * sum_dy_xhat/n), rewritten as
        // dy*a + (x - mean)*b + k with per-channel a, b, k, computed in place in the centred input.
        var w = ChannelValues.ToDoubles(weight);
        var a = new float[c];
        var b = new float[c];
        var k = new float[c];
        for (int i = 0; i < c; i++)
        {
            double ai = w[i] * invstd[i];
            double meanDy = sums[row * 2 * c + i] / total;
            double meanDyXhat = sums[row * 2 * c + c + i] / total;
            a[i] = (float)ai;
            b[i] = (float)(-ai * invstd[i] * meanDyXhat);
            k[i] = (float)(-ai * meanDy);
        }
        var gradInput = centred.mul_(ChannelValues.Broadcastable(b, x))
            .add_(ChannelValues.Broadcastable(k, x))
            .addcmul_(gradOutput, ChannelValues.Broadcastable(a, x), 1);   // [B, C, H, W]
        return Outer([gradInput, gradWeight, sumDyT]);
    }

    // backward returns one entry per argument of apply: input, weight, bias, and null for the layer.
    internal static List<Tensor> Outer(Tensor[] gradients) =>
        [.. gradients.Select(g => g.MoveToOuterDisposeScope()), null!];

    // Forward after a failure in this step: no collectives, no statistics; the step will be thrown away.
    private static Tensor Abandon(autograd.AutogradContext ctx, Tensor x)
    {
        ctx.save_data("abandoned", true);
        return x.clone();
    }

    private static List<Tensor> Zeros(Tensor gradOutput, SyncBatchNorm2d bn) =>
        [zeros_like(gradOutput), zeros(bn.NumFeatures, dtype: gradOutput.dtype, device: gradOutput.device),
            zeros(bn.NumFeatures, dtype: gradOutput.dtype, device: gradOutput.device), null!];

    private static double[] AllReduce(SyncBatchNorm2d bn, double[] values, string operation)
    {
        var t = tensor(values, device: bn.RunningMean.device);                // NCCL reduces on the GPU
        bn.Sync.Group!.AllReduceSum([t], operation);
        return ChannelValues.ToDoubles(t);
    }
}
