using static TorchSharp.torch;

namespace GppfActors.Model.Norm;

/// <summary>
/// The autograd function behind <see cref="SyncBatchNorm2d"/> in training with a group: forward
/// all-reduces per-channel (count, sum, sum of squares), backward all-reduces (sum dy, sum dy*x),
/// so outputs and gradients equal batch norm over the concatenation of every device's batch.
/// </summary>
/// <remarks>
/// Statistics travel in float64: each device contributes n and the first two moments of x centred
/// on the unit's running mean (a shift every replica shares), and the global variance is formed in
/// double precision, so the E[x^2] - E[x]^2 step does not cancel away float32 digits. The per-channel arithmetic (C values)
/// runs in managed code and the element-wise work in a handful of fused tensor ops, because on
/// small CPU layers the number of tensor ops, not their size, dominates the cost.
/// The weight and bias gradients returned are this device's own share; task-average fusion
/// combines them across devices afterwards. In fused mode the buffers hold one row per unit of the
/// lego layer ([N, 2C+1] forward, [N, 2C] backward) and this device fills only its unit's row.
/// </remarks>
public sealed class SyncBatchNormFunction : autograd.SingleTensorFunction<SyncBatchNormFunction>
{
    private static readonly long[] ChannelDims = [0, 2, 3];

    public override string Name => "SyncBatchNorm2d";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];                                 // [B, C, H, W]
        var weight = (Tensor)vars[1];                            // [C]
        var bias = (Tensor)vars[2];                              // [C]
        var bn = (SyncBatchNorm2d)vars[3];
        int c = checked((int)bn.NumFeatures);
        bool fused = bn.Sync.FuseUnits && bn.Siblings.Length > 1;
        int rows = fused ? bn.Siblings.Length : 1;
        int row = fused ? bn.UnitIndex : 0;
        int width = 2 * c + 1;

        // stats row layout: [n, sum(x - s) (C), sum((x - s)^2) (C)] with the shift s = the unit's
        // running mean, which is identical on every replica and close to the batch mean, so the
        // variance E[(x-s)^2] - E[x-s]^2 does not cancel away float32 digits. (var_mean would do,
        // but over dims (0, 2, 3) it is twenty times slower than two sums on CPU.)
        var stats = new double[rows * width];
        double n = x.numel() / Math.Max(1, c);
        var shift = bn.RunningMean.detach().to_type(x.dtype).view(1, c, 1, 1);      // [1, C, 1, 1]
        if (n > 0)
        {
            var centred = x - shift;                                                // [B, C, H, W]
            var localSum = ChannelValues.ToDoubles(centred.sum(ChannelDims));
            var localSq = ChannelValues.ToDoubles(centred.pow_(2).sum(ChannelDims));   // in place: centred is not needed again
            int o = row * width;
            stats[o] = n;
            for (int i = 0; i < c; i++)
            {
                stats[o + 1 + i] = localSum[i];
                stats[o + 1 + c + i] = localSq[i];
            }
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
            var shiftK = ChannelValues.ToDoubles((fused ? bn.Siblings[k] : bn).RunningMean);
            for (int i = 0; i < c; i++)
            {
                double centredMean = stats[o + 1 + i] / nk;
                meanK[i] = shiftK[i] + centredMean;
                varK[i] = Math.Max(0, stats[o + 1 + c + i] / nk - centredMean * centredMean);
            }
            (fused ? bn.Siblings[k] : bn).UpdateRunningStats(meanK, varK, nk);
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

        double total = stats[row * width];
        ctx.save_data("count", total);
        ctx.save_data("bn", bn);
        ctx.save_data("mean", ownMean);
        ctx.save_data("invstd", ownInvStd);
        ctx.save_for_backward([x, weight]);
        if (n == 0)
        {
            return x.clone();    // an empty batch: nothing to normalise, but backward still joins its collective
        }
        return nn.functional.batch_norm(x, ChannelValues.Vector(ownMean, x), ChannelValues.Vector(ownVar, x), weight, bias, false, 0.0, bn.Eps);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var x = saved[0];                                                     // [B, C, H, W]
        var weight = saved[1];                                                // [C]
        var bn = (SyncBatchNorm2d)ctx.get_data("bn");
        double total = (double)ctx.get_data("count");
        var mean = (float[])ctx.get_data("mean");
        var invstd = (float[])ctx.get_data("invstd");
        int c = mean.Length;
        bool fused = bn.Sync.FuseUnits && bn.Siblings.Length > 1;
        int rows = fused ? bn.Siblings.Length : 1;
        int row = fused ? bn.UnitIndex : 0;

        var sumDyT = gradOutput.sum(ChannelDims);                             // [C]
        var sumDyXT = (gradOutput * x).sum(ChannelDims);                      // [C]
        var sumDy = ChannelValues.ToDoubles(sumDyT);
        var sumDyX = ChannelValues.ToDoubles(sumDyXT);

        // sum dy*xhat = invstd * (sum dy*x - mean * sum dy), per channel
        var sums = new double[rows * 2 * c];
        var localDyXhat = new float[c];
        for (int i = 0; i < c; i++)
        {
            double dyXhat = invstd[i] * (sumDyX[i] - mean[i] * sumDy[i]);
            sums[row * 2 * c + i] = sumDy[i];
            sums[row * 2 * c + c + i] = dyXhat;
            localDyXhat[i] = (float)dyXhat;
        }
        sums = AllReduce(bn, sums, fused ? $"syncbn-backward {bn.Tag}" : $"syncbn-backward {bn.Tag} unit {bn.UnitIndex}");

        var gradWeight = ChannelValues.Vector(localDyXhat, x);
        if (x.numel() == 0 || total <= 0)
        {
            return [zeros_like(x), gradWeight, sumDyT, null!];
        }

        // dx = w*invstd * (dy - sum_dy/n - xhat * sum_dy_xhat/n), rewritten as dy*a + x*b + c with
        // per-channel a, b, c so that it costs three element-wise passes.
        var w = ChannelValues.ToDoubles(weight);
        var a = new float[c];
        var b = new float[c];
        var shift = new float[c];
        for (int i = 0; i < c; i++)
        {
            double ai = w[i] * invstd[i];
            double meanDy = sums[row * 2 * c + i] / total;
            double meanDyXhat = sums[row * 2 * c + c + i] / total;
            double bi = -ai * invstd[i] * meanDyXhat;
            a[i] = (float)ai;
            b[i] = (float)bi;
            shift[i] = (float)(-ai * meanDy - bi * mean[i]);
        }
        var gradInput = addcmul(ChannelValues.Broadcastable(shift, x), gradOutput, ChannelValues.Broadcastable(a, x), 1)
            .addcmul_(x, ChannelValues.Broadcastable(b, x), 1);             // [B, C, H, W]
        return [gradInput, gradWeight, sumDyT, null!];
    }

    private static double[] AllReduce(SyncBatchNorm2d bn, double[] values, string operation)
    {
        var t = tensor(values);
        bn.Sync.Group!.AllReduceSum([t], operation);
        return ChannelValues.ToDoubles(t);
    }
}
