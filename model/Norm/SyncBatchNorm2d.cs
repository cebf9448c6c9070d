using System.Runtime.InteropServices;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Norm;

/// <summary>
/// BatchNorm2d whose training statistics span every device of the step (cross-task SyncBN); one per
/// BN position of a backbone unit, owned by that unit. State keys match PyTorch's BatchNorm2d.
/// </summary>
/// <remarks>
/// In evaluation it normalises with the running statistics; in training without a group it is plain
/// batch norm. With a group it runs <see cref="SyncBatchNormFunction"/>, whose forward and backward
/// each issue one all-reduce. Sibling layers (the same BN position in the other units of a lego
/// layer) are linked so that, in fused hard mode, a device updates the running statistics of every
/// unit that ran anywhere, keeping buffers identical on all replicas.
/// </remarks>
public sealed class SyncBatchNorm2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;

    /// <summary>Creates the layer with weight 1, bias 0, running mean 0 and running variance 1.</summary>
    public SyncBatchNorm2d(string name, long numFeatures, NormSync sync, double eps = 1e-5, double momentum = 0.1)
        : base(name)
    {
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Sync = sync;
        weight = new Parameter(ones(numFeatures));
        bias = new Parameter(zeros(numFeatures));
        running_mean = zeros(numFeatures);
        running_var = ones(numFeatures);
        num_batches_tracked = zeros(Array.Empty<long>(), dtype: int64);
        RegisterComponents();
    }

    /// <summary>Channels C.</summary>
    public long NumFeatures { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>Running-statistics update factor (PyTorch convention).</summary>
    public double Momentum { get; }

    /// <summary>The replica-wide sync switch.</summary>
    public NormSync Sync { get; }

    /// <summary>Scale parameter gamma, [C].</summary>
    public Parameter Weight => weight;

    /// <summary>Shift parameter beta, [C].</summary>
    public Parameter Bias => bias;

    /// <summary>Running mean buffer, [C].</summary>
    public Tensor RunningMean => running_mean;

    /// <summary>Running (unbiased) variance buffer, [C].</summary>
    public Tensor RunningVar => running_var;

    /// <summary>Number of training batches seen (int64 scalar).</summary>
    public Tensor NumBatchesTracked => num_batches_tracked;

    /// <summary>The same BN position in every unit of the lego layer, indexed by unit; set by <see cref="Backbone.LegoLayer"/>.</summary>
    internal SyncBatchNorm2d[] Siblings { get; set; } = [];

    /// <summary>This layer's unit index within <see cref="Siblings"/>.</summary>
    internal int UnitIndex { get; set; }

    /// <summary>Position of this BN in the backbone's forward order (layer, BN index), used to name collectives.</summary>
    internal string Tag { get; set; } = "bn";

    public override Tensor forward(Tensor input)
    {
        if (!training)
        {
            return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, false, Momentum, Eps);
        }
        if (Sync.Group is null)
        {
            return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, true, Momentum, Eps);
        }
        return SyncBatchNormFunction.apply(input, weight, bias, this);
    }

    /// <summary>Moves running statistics towards a batch's (mean, biased variance) over <paramref name="count"/> values per channel (PyTorch's update, unbiased variance).</summary>
    internal void UpdateRunningStats(double[] mean, double[] biasedVar, double count)
    {
        double correction = count > 1 ? count / (count - 1) : 1.0;
        if (running_mean.device_type == TorchSharp.DeviceType.CPU && running_mean.dtype == ScalarType.Float32)
        {
            // C values: updating them in place from managed code avoids a dozen tiny tensor ops.
            var rm = MemoryMarshal.Cast<byte, float>(running_mean.bytes);
            var rv = MemoryMarshal.Cast<byte, float>(running_var.bytes);
            for (int i = 0; i < rm.Length; i++)
            {
                rm[i] = (float)((1 - Momentum) * rm[i] + Momentum * mean[i]);
                rv[i] = (float)((1 - Momentum) * rv[i] + Momentum * biasedVar[i] * correction);
            }
            MemoryMarshal.Cast<byte, long>(num_batches_tracked.bytes)[0] += 1;
            return;
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        running_mean.mul_(1 - Momentum).add_(tensor(mean).to(running_mean.dtype).to(running_mean.device), alpha: Momentum);
        running_var.mul_(1 - Momentum).add_((tensor(biasedVar) * correction).to(running_var.dtype).to(running_var.device), alpha: Momentum);
        num_batches_tracked.add_(1);
    }
}
