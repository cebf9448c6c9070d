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
/// On the device path (<see cref="NormSync.StatisticsOnDevice"/>) staged updates are device tensors
/// and are written by device copies, so staging and committing read nothing back to the host; the
/// per-device BN ablation's exchange (<see cref="WriteExchange"/>) still reads them, once per step.
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

    // The same, staged by the device path (DeviceBatchStatistics) as tensors on the buffers' device,
    // owned by this layer (outside every dispose scope); the batches an int64 scalar, since whether a
    // fused unit ran anywhere is known only on the device.
    private Tensor? stagedMean;
    private Tensor? stagedVar;
    private Tensor? stagedBatches;

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
        if (Sync.StatisticsOnDevice(this))
        {
            return PlainForwardOnDevice(input);
        }
        using var scope = NewDisposeScope();
        var mean = pendingMean is null ? running_mean.clone() : ChannelValues.Vector(pendingMean, running_mean);
        var variance = pendingVar is null ? running_var.clone() : ChannelValues.Vector(pendingVar, running_var);
        var output = nn.functional.batch_norm(input, mean, variance, weight, bias, true, Momentum, Eps);
        SetPending(ChannelValues.ToDoubles(mean), ChannelValues.ToDoubles(variance), pendingBatches + 1);
        return output.MoveToOuterDisposeScope();
    }

    // The in-step per-device batch norm of the device path: libtorch updates copies of the staged
    // (or committed) statistics on the device, and those copies become the staged update.
    private Tensor PlainForwardOnDevice(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (mean, variance, batches) = StagedOnDevice();
        mean = mean.clone();
        variance = variance.clone();
        var output = nn.functional.batch_norm(input, mean, variance, weight, bias, true, Momentum, Eps);
        SetStaged(mean, variance, batches + 1);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The device path's <see cref="UpdateRunningStats(double[], double[], double)"/>: <paramref name="mean"/>
    /// and <paramref name="biasedVar"/> float64 [C], <paramref name="count"/> a float64 scalar, all on the
    /// buffers' device. A count of 0 (no device ran this unit) leaves the statistics as they are and
    /// adds no batch, through a mask rather than a host branch.
    /// </summary>
    internal void UpdateRunningStats(Tensor mean, Tensor biasedVar, Tensor count)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ran = count > 0;
        var correction = count / (count - 1).clamp_min(1);             // n / (n - 1), and 1 for n <= 1 (counts are whole)
        var (stagedOrBufferMean, stagedOrBufferVar, batches) = Sync.InStep
            ? StagedOnDevice()
            : (running_mean, running_var, num_batches_tracked);
        var oldMean = stagedOrBufferMean.to_type(float64);
        var oldVar = stagedOrBufferVar.to_type(float64);
        // The host path's arithmetic, in the same order: (1 - m) old + m new, then rounded to the buffer's dtype.
        // lerp with weight 0 or 1 gives start or end exactly (libtorch computes end - (end - start) * 0 for 1);
        // it stands in for where(), which has no meta-device kernel in libtorch 2.10.
        var keep = ran.to_type(float64);
        var newMean = oldMean.lerp(oldMean * (1 - Momentum) + mean * Momentum, keep).to_type(running_mean.dtype);
        var newVar = oldVar.lerp(oldVar * (1 - Momentum) + biasedVar * Momentum * correction, keep).to_type(running_var.dtype);
        if (Sync.InStep)
        {
            SetStaged(newMean, newVar, batches + ran.to_type(int64));
            return;
        }
        running_mean.copy_(newMean);
        running_var.copy_(newVar);
        num_batches_tracked.add_(ran.to_type(int64));
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
        if (stagedMean is not null)
        {
            TakeStagedToHost();
        }
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
        if (stagedMean is not null && stagedVar is not null && stagedBatches is not null)
        {
            using var _ = no_grad();
            running_mean.copy_(stagedMean);
            running_var.copy_(stagedVar);
            num_batches_tracked.add_(stagedBatches);
            DiscardPending();
            return;
        }
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
        DisposeStaged();
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
        if (pendingMean is null && stagedMean is null)
        {
            Sync.Stage(this);
        }
        DisposeStaged();
        pendingMean = mean;
        pendingVar = variance;
        pendingBatches = batches;
    }

    // The device path's staged update (or, in its absence, the buffers and no batches yet), as
    // tensors of the current dispose scope or this layer's own.
    private (Tensor Mean, Tensor Var, Tensor Batches) StagedOnDevice()
    {
        if (stagedMean is not null && stagedVar is not null && stagedBatches is not null)
        {
            return (stagedMean, stagedVar, stagedBatches);
        }
        if (pendingMean is not null && pendingVar is not null)
        {
            return (ChannelValues.Vector(pendingMean, running_mean), ChannelValues.Vector(pendingVar, running_var),
                tensor(pendingBatches, device: num_batches_tracked.device));
        }
        return (running_mean, running_var, zeros_like(num_batches_tracked));
    }

    // Stages the device path's update; the tensors leave every dispose scope and belong to this layer.
    private void SetStaged(Tensor mean, Tensor variance, Tensor batches)
    {
        if (pendingMean is null && stagedMean is null)
        {
            Sync.Stage(this);
        }
        pendingMean = null;
        pendingVar = null;
        pendingBatches = 0;
        stagedMean = Replace(stagedMean, mean);
        stagedVar = Replace(stagedVar, variance);
        stagedBatches = Replace(stagedBatches, batches);
    }

    private static Tensor Replace(Tensor? old, Tensor value)
    {
        if (!ReferenceEquals(old, value))
        {
            old?.Dispose();
        }
        return value.DetachFromDisposeScope();
    }

    // The per-device BN ablation exchanges staged updates as host values (RunningStatsAverage).
    private void TakeStagedToHost()
    {
        var mean = ChannelValues.ToDoubles(stagedMean!);
        var variance = ChannelValues.ToDoubles(stagedVar!);
        long batches = stagedBatches!.cpu().item<long>();
        DisposeStaged();
        pendingMean = mean;
        pendingVar = variance;
        pendingBatches = batches;
    }

    private void DisposeStaged()
    {
        stagedMean?.Dispose();
        stagedVar?.Dispose();
        stagedBatches?.Dispose();
        stagedMean = null;
        stagedVar = null;
        stagedBatches = null;
    }
}
