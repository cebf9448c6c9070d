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
/// Inside a step (<see cref="NormSync.BeginStep"/>) running-statistics updates, the siblings'
/// included, are staged and reach the buffers only through <see cref="NormSync.CommitRunningStats"/>,
/// so a step that fails or is skipped leaves them untouched. Outside a step they are written at
/// once, as PyTorch's BatchNorm2d does; whoever runs backward with a group outside a step calls
/// <see cref="NormSync.ThrowIfFailed"/> afterwards, since a failed backward collective cannot throw.
/// When its lego layer is checkpointed, the recomputation in backward reuses the first pass's
/// statistics (<see cref="NormSync.Replaying"/>): no second forward collective and no second
/// running-statistics update; the backward collective runs once, in the recomputation's backward.
/// </remarks>
public sealed class SyncBatchNorm2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;

    // A staged update of the running statistics (see NormSync): the values the buffers will hold
    // if the step is applied, and how many batches it adds to num_batches_tracked.
    private double[]? pendingMean;
    private double[]? pendingVar;
    private long pendingBatches;

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
        if (Sync.InStep && Sync.Failure is not null)
        {
            // A collective of this step failed in an earlier layer (and was recorded there, inside the
            // autograd function, where throwing would leak the graph): stop the forward here.
            Sync.ThrowIfFailed();
        }
        if (Sync.Group is null)
        {
            return PlainForward(input);
        }
        return SyncBatchNormFunction.apply(input, weight, bias, this);
    }

    // Per-device batch norm. Inside a step libtorch updates copies of the running statistics, which
    // are staged like the synced path's updates; outside a step it updates the buffers themselves.
    private Tensor PlainForward(Tensor input)
    {
        if (Sync.Replaying is not null)
        {
            // Recomputing a checkpointed layer: the same batch statistics normalise the same input, but
            // the running statistics were already updated (or staged) by the first pass; libtorch
            // updates throwaway copies.
            return nn.functional.batch_norm(input, running_mean.clone(), running_var.clone(), weight, bias, true, Momentum, Eps);
        }
        if (!Sync.InStep)
        {
            num_batches_tracked.add_(1);
            return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, true, Momentum, Eps);
        }
        using var scope = NewDisposeScope();
        var mean = pendingMean is null ? running_mean.clone() : ChannelValues.Vector(pendingMean, running_mean);
        var variance = pendingVar is null ? running_var.clone() : ChannelValues.Vector(pendingVar, running_var);
        var output = nn.functional.batch_norm(input, mean, variance, weight, bias, true, Momentum, Eps);
        SetPending(ChannelValues.ToDoubles(mean), ChannelValues.ToDoubles(variance), pendingBatches + 1);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Moves running statistics towards a batch's (mean, biased variance) over <paramref name="count"/>
    /// values per channel (PyTorch's update, unbiased variance); inside a step the result is staged.
    /// </summary>
    internal void UpdateRunningStats(double[] mean, double[] biasedVar, double count)
    {
        double correction = count > 1 ? count / (count - 1) : 1.0;
        if (Sync.InStep)
        {
            var rm = pendingMean ?? ChannelValues.ToDoubles(running_mean);
            var rv = pendingVar ?? ChannelValues.ToDoubles(running_var);
            var newMean = new double[rm.Length];
            var newVar = new double[rv.Length];
            for (int i = 0; i < rm.Length; i++)
            {
                newMean[i] = (1 - Momentum) * rm[i] + Momentum * mean[i];
                newVar[i] = (1 - Momentum) * rv[i] + Momentum * biasedVar[i] * correction;
            }
            SetPending(newMean, newVar, pendingBatches + 1);
            return;
        }
        if (IsCpuFloat32)
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

    /// <summary>Values per layer in the running-statistics exchange of <see cref="RunningStatsAverage"/>: [ran, mean (C), var (C), batches].</summary>
    internal int ExchangeWidth => 2 * (int)NumFeatures + 2;

    /// <summary>Writes this layer's staged update into <paramref name="slot"/> (all zeros when nothing is staged).</summary>
    internal void WriteExchange(Span<float> slot)
    {
        slot.Clear();
        if (pendingMean is null || pendingVar is null)
        {
            return;
        }
        int c = pendingMean.Length;
        slot[0] = 1;
        for (int i = 0; i < c; i++)
        {
            slot[1 + i] = (float)pendingMean[i];
            slot[1 + c + i] = (float)pendingVar[i];
        }
        slot[^1] = pendingBatches;
    }

    /// <summary>Replaces the staged update with the average of <paramref name="sums"/> over the devices that staged one.</summary>
    internal void ReadExchange(ReadOnlySpan<float> sums)
    {
        float devices = sums[0];
        if (devices <= 0)
        {
            return;     // no device ran this layer; nothing is staged anywhere
        }
        int c = (int)NumFeatures;
        var mean = new double[c];
        var variance = new double[c];
        for (int i = 0; i < c; i++)
        {
            mean[i] = sums[1 + i] / (double)devices;
            variance[i] = sums[1 + c + i] / (double)devices;
        }
        SetPending(mean, variance, (long)Math.Round(sums[^1] / devices));
    }

    /// <summary>Writes the staged update into the buffers; called by <see cref="NormSync.CommitRunningStats"/>.</summary>
    internal void CommitPending()
    {
        if (pendingMean is null || pendingVar is null)
        {
            return;
        }
        if (IsCpuFloat32)
        {
            var rm = MemoryMarshal.Cast<byte, float>(running_mean.bytes);
            var rv = MemoryMarshal.Cast<byte, float>(running_var.bytes);
            for (int i = 0; i < rm.Length; i++)
            {
                rm[i] = (float)pendingMean[i];
                rv[i] = (float)pendingVar[i];
            }
            MemoryMarshal.Cast<byte, long>(num_batches_tracked.bytes)[0] += pendingBatches;
        }
        else
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            running_mean.copy_(tensor(pendingMean));
            running_var.copy_(tensor(pendingVar));
            num_batches_tracked.add_(pendingBatches);
        }
        DiscardPending();
    }

    /// <summary>Forgets the staged update; called by <see cref="NormSync"/>.</summary>
    internal void DiscardPending()
    {
        pendingMean = null;
        pendingVar = null;
        pendingBatches = 0;
    }

    private bool IsCpuFloat32 => running_mean.device_type == TorchSharp.DeviceType.CPU && running_mean.dtype == ScalarType.Float32;

    // Pending values are kept rounded to the buffer's dtype, so a commit writes exactly what an
    // immediate update would have written and a second update in the same step starts from it.
    private void SetPending(double[] mean, double[] variance, long batches)
    {
        if (running_mean.dtype == ScalarType.Float32)
        {
            for (int i = 0; i < mean.Length; i++)
            {
                mean[i] = (float)mean[i];
                variance[i] = (float)variance[i];
            }
        }
        if (pendingMean is null)
        {
            Sync.Stage(this);
        }
        pendingMean = mean;
        pendingVar = variance;
        pendingBatches = batches;
    }
}
