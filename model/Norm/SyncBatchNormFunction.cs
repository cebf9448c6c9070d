using static TorchSharp.torch;

namespace GppfActors.Model.Norm;

/// <summary>
/// The autograd function behind <see cref="SyncBatchNorm2d"/> in training with a group: forward
/// all-reduces per-channel (count, sum, sum of squares), backward all-reduces (sum dy, sum dy*xhat),
/// so outputs and gradients equal batch norm over the concatenation of every device's batch.
/// </summary>
/// <remarks>
/// Statistics travel in float64: each device contributes n, n*mean and n*(var + mean^2) from its own
/// numerically stable var_mean, and the global variance is formed in double precision, so the
/// E[x^2] - E[x]^2 step does not cancel away float32 digits. The weight and bias gradients returned
/// are this device's own share; task-average fusion combines them across devices afterwards.
/// In fused mode the buffers hold one row per unit of the lego layer ([N, 2C+1] forward,
/// [N, 2C] backward) and this device fills only its unit's row.
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
        var group = bn.Sync.Group!;
        long c = bn.NumFeatures;
        bool fused = bn.Sync.FuseUnits && bn.Siblings.Length > 1;
        int rows = fused ? bn.Siblings.Length : 1;
        int row = fused ? bn.UnitIndex : 0;

        // stats row layout: [n, n*mean (C), n*(var + mean^2) (C)]
        var stats = zeros(rows, 2 * c + 1, dtype: float64);      // [rows, 2C+1]
        double n = x.numel() / Math.Max(1, c);
        if (n > 0)
        {
            var (var, mean) = var_mean(x, ChannelDims, unbiased: false);   // [C], [C]
            var mean64 = mean.to_type(float64);
            var var64 = var.to_type(float64);
            stats[row, 0] = n;
            stats[row].narrow(0, 1, c).copy_(mean64 * n);
            stats[row].narrow(0, 1 + c, c).copy_((var64 + mean64 * mean64) * n);
        }
        group.AllReduceSum([stats], fused ? $"syncbn-forward {bn.Tag}" : $"syncbn-forward {bn.Tag} unit {bn.UnitIndex}");

        var counts = stats[TensorIndex.Colon, 0].data<double>().ToArray();
        Tensor? ownMean = null, ownVar = null;
        for (int k = 0; k < rows; k++)
        {
            double nk = counts[k];
            if (nk <= 0)
            {
                continue;
            }
            var meanK = stats[k].narrow(0, 1, c) / nk;                        // [C] float64
            var varK = (stats[k].narrow(0, 1 + c, c) / nk - meanK * meanK).clamp_min(0); // [C] float64
            var target = fused ? bn.Siblings[k] : bn;
            target.UpdateRunningStats(meanK.to_type(x.dtype), varK.to_type(x.dtype), nk);
            if (k == row)
            {
                ownMean = meanK.to_type(x.dtype);
                ownVar = varK.to_type(x.dtype);
            }
        }

        double total = counts[row];
        ctx.save_data("count", total);
        ctx.save_data("bn", bn);
        if (ownMean is null || ownVar is null || n == 0)
        {
            // An empty batch: nothing to normalise, but backward must still join its collective.
            ctx.save_for_backward([x, weight, zeros(c, dtype: x.dtype), zeros(c, dtype: x.dtype)]);
            return x.clone();
        }
        var invstd = (ownVar + bn.Eps).rsqrt();                                // [C]
        ctx.save_for_backward([x, weight, ownMean, invstd]);
        return nn.functional.batch_norm(x, ownMean, ownVar, weight, bias, false, 0.0, bn.Eps);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var x = saved[0];
        var weight = saved[1];
        var mean = saved[2];
        var invstd = saved[3];
        var bn = (SyncBatchNorm2d)ctx.get_data("bn");
        double total = (double)ctx.get_data("count");
        var group = bn.Sync.Group!;
        long c = bn.NumFeatures;
        bool fused = bn.Sync.FuseUnits && bn.Siblings.Length > 1;
        int rows = fused ? bn.Siblings.Length : 1;
        int row = fused ? bn.UnitIndex : 0;

        var shape = new long[] { 1, c, 1, 1 };
        var xhat = (x - mean.view(shape)) * invstd.view(shape);               // [B, C, H, W]
        var sumDy = gradOutput.sum(ChannelDims);                              // [C]
        var sumDyXhat = (gradOutput * xhat).sum(ChannelDims);                 // [C]

        var sums = zeros(rows, 2 * c, dtype: float64);                        // [rows, 2C]
        sums[row].narrow(0, 0, c).copy_(sumDy);
        sums[row].narrow(0, c, c).copy_(sumDyXhat);
        group.AllReduceSum([sums], fused ? $"syncbn-backward {bn.Tag}" : $"syncbn-backward {bn.Tag} unit {bn.UnitIndex}");

        var globalDy = sums[row].narrow(0, 0, c).to_type(x.dtype).view(shape);      // [1, C, 1, 1]
        var globalDyXhat = sums[row].narrow(0, c, c).to_type(x.dtype).view(shape);  // [1, C, 1, 1]
        if (x.numel() == 0)
        {
            return [zeros_like(x), zeros(c, dtype: x.dtype), zeros(c, dtype: x.dtype), null!];
        }
        var gradInput = (weight * invstd).view(shape)
            * (gradOutput - globalDy / total - xhat * globalDyXhat / total);
        return [gradInput, sumDyXhat, sumDy, null!];
    }
}
