using GppfActors.Collectives;
using GppfActors.Model.Backbone;
using GppfActors.Model.Norm;
using GppfActors.Model.Routing;
using GppfActors.Testing;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Norm;

/// <summary>
/// SyncBN's device-resident path (<see cref="DeviceBatchStatistics"/>), forced on the CPU over k
/// in-process devices: against torch's BatchNorm2d over the concatenated batch, against the host
/// path, under activation checkpointing and after a failed step; and on libtorch's meta device
/// (tensors without data, standing in for a GPU) to show that a step reads nothing back to the host.
/// </summary>
public class DeviceSyncBatchNormSpecs
{
    private const long C = 4;
    private const int World = 3;
    private const int Steps = 2;

    // Unequal batch sizes and spatial shapes per device, as in SIMT.
    private static readonly long[][] Shapes = [[2, C, 5, 5], [3, C, 4, 6], [1, C, 7, 3]];

    // Soft routing: every device runs both units with these weights. Hard routing: devices 0 and 1
    // run unit 0, device 2 runs unit 1, and nobody runs unit 2 (its fused row has count 0 everywhere).
    private static readonly float[] SoftWeights = [0.25f, 0.75f];
    private static readonly int[] HardUnitOf = [0, 0, 1];

    private sealed record Options(bool Soft, bool OnDevice = true, bool Checkpointed = false, double Mean = 5, double Std = 3)
    {
        public int NumUnits => Soft ? SoftWeights.Length : 3;
    }

    /// <summary>One device's results: per step, output, input gradient and every unit's affine gradients; at the end, every unit's buffers.</summary>
    private sealed record DeviceRun(Tensor[] Y, Tensor[] GradX, Tensor?[][] GradW, Tensor?[][] GradB,
        Tensor[] RunningMean, Tensor[] RunningVar, long[] Tracked, IReadOnlyList<long> CollectiveDims);

    private static (Tensor X, Tensor R) Inputs(int step, int device, double mean, double std)
    {
        using var g = new Generator((ulong)(100 * step + device + 1));
        var x = (randn(Shapes[device], dtype: float64, generator: g) * std + mean).to_type(float32);
        var r = randn(Shapes[device], generator: g);
        return (x, r);
    }

    // Different affine parameters per unit, so soft routing's units differ.
    private static (Tensor W, Tensor B) Affine(int unit)
    {
        using var g = new Generator((ulong)(7 + unit));
        return (randn(new[] { C }, generator: g) + 1, randn(new[] { C }, generator: g));
    }

    private static LayerRoute Route(Options o, int rank) =>
        o.Soft ? LayerRoute.Soft(tensor(SoftWeights)) : LayerRoute.Single(HardUnitOf[rank]);

    // Steps of a lego layer whose units are single SyncBN layers, each step a NormSync step with its
    // running statistics committed; hard routing fuses the units' collectives.
    private static DeviceRun[] RunDevices(Options o) =>
        Devices.Run(World, (rank, inner) =>
        {
            var group = new ProbeGroup(inner);          // not disposed: Devices.Run disposes the group it wraps
            var sync = new NormSync { ForceDeviceStatistics = o.OnDevice };
            var layer = new LegoLayer(1, o.NumUnits, k => new SyncBatchNorm2d("bn", C, sync));
            if (o.Checkpointed)
            {
                layer.CheckpointSync = sync;
            }
            var bns = Enumerable.Range(0, o.NumUnits).Select(k => (SyncBatchNorm2d)layer.Unit(k)).ToArray();
            using (no_grad())
            {
                for (int k = 0; k < bns.Length; k++)
                {
                    var (w, b) = Affine(k);
                    bns[k].Weight.copy_(w);
                    bns[k].Bias.copy_(b);
                }
            }
            var ys = new Tensor[Steps];
            var gradXs = new Tensor[Steps];
            var gradWs = new Tensor?[Steps][];
            var gradBs = new Tensor?[Steps][];
            for (int step = 0; step < Steps; step++)
            {
                layer.zero_grad(true);
                sync.BeginStep(group, fuseUnits: !o.Soft);
                var (x, r) = Inputs(step, rank, o.Mean, o.Std);
                x.requires_grad_(true);
                var y = layer.forward(x, Route(o, rank));
                (y * r).sum().backward();
                sync.ThrowIfFailed();
                sync.CommitRunningStats();
                sync.EndStep();
                ys[step] = y.detach();
                gradXs[step] = x.grad!;
                gradWs[step] = bns.Select(bn => bn.Weight.grad?.clone()).ToArray();
                gradBs[step] = bns.Select(bn => bn.Bias.grad?.clone()).ToArray();
            }
            return new DeviceRun(ys, gradXs, gradWs, gradBs, bns.Select(bn => bn.RunningMean.clone()).ToArray(),
                bns.Select(bn => bn.RunningVar.clone()).ToArray(), bns.Select(bn => bn.NumBatchesTracked.item<long>()).ToArray(), group.Dims);
        });

    private sealed record ReferenceStep(Tensor[] Y, Tensor[] GradX, Tensor GradW, Tensor GradB);

    // BatchNorm2d over the given devices' samples: every [B, C, H, W] becomes [C, B*H*W],
    // concatenated along the sample axis and viewed as [1, C, 1, M]; the loss is sum(y * r).
    private static ReferenceStep Reference(BatchNorm2d bn, int step, int[] devices, Options o)
    {
        var inputs = devices.Select(d => Inputs(step, d, o.Mean, o.Std)).ToArray();
        var xs = inputs.Select(i => i.X.requires_grad_(true)).ToArray();
        var flat = cat(xs.Select(x => x.permute(1, 0, 2, 3).reshape(C, -1)).ToArray(), 1);     // [C, M]
        var y = bn.forward(flat.reshape(1, C, 1, -1)).reshape(C, -1);                           // [C, M]
        var ys = new Tensor[devices.Length];
        long offset = 0;
        Tensor loss = zeros(1);
        for (int i = 0; i < devices.Length; i++)
        {
            var s = Shapes[devices[i]];
            long m = s[0] * s[2] * s[3];
            ys[i] = y.narrow(1, offset, m).reshape(C, s[0], s[2], s[3]).permute(1, 0, 2, 3);      // [B, C, H, W]
            loss = loss + (ys[i] * inputs[i].R).sum();
            offset += m;
        }
        bn.weight!.grad = null;
        bn.bias!.grad = null;
        loss.backward();
        return new ReferenceStep([.. ys.Select(t => t.detach())], [.. xs.Select(x => x.grad!)], bn.weight!.grad!.clone(), bn.bias!.grad!.clone());
    }

    private static BatchNorm2d NativeBn(int unit)
    {
        var bn = nn.BatchNorm2d(C, eps: 1e-5, momentum: 0.1);
        var (w, b) = Affine(unit);
        using (no_grad())
        {
            bn.weight!.copy_(w);
            bn.bias!.copy_(b);
        }
        return bn;
    }

    private static void Close(Tensor? actual, Tensor expected, string what, double rtol)
    {
        Assert.NotNull(actual);
        TensorAssert.Close(actual, expected, rtol: rtol, what: what);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Should_equal_batchnorm_over_the_concatenated_batch_when_statistics_stay_on_the_device(bool soft)
    {
        var o = new Options(soft);
        var results = RunDevices(o);

        Assert.All(results, r => Assert.All(r.CollectiveDims, d => Assert.Equal(2, d)));      // the device path's [rows, width] rows, not the host path's flat arrays
        int[][] devicesOf = soft
            ? [[0, 1, 2], [0, 1, 2]]
            : [[0, 1], [2], []];
        var native = Enumerable.Range(0, o.NumUnits).Select(NativeBn).ToArray();
        for (int step = 0; step < Steps; step++)
        {
            var expectedY = results.Select(r => zeros_like(r.Y[step])).ToArray();
            var expectedGradX = results.Select(r => zeros_like(r.GradX[step])).ToArray();
            for (int k = 0; k < o.NumUnits; k++)
            {
                var devices = devicesOf[k];
                if (devices.Length == 0)
                {
                    Assert.All(results, r => Assert.Null(r.GradW[step][k]));
                    continue;
                }
                // Soft routing scales unit k's output by its weight, and so the gradients that reach it.
                double scale = soft ? SoftWeights[k] : 1.0;
                var reference = Reference(native[k], step, devices, o);
                for (int i = 0; i < devices.Length; i++)
                {
                    expectedY[devices[i]] += reference.Y[i] * scale;
                    expectedGradX[devices[i]] += reference.GradX[i] * scale;
                }
                // Each device returns its own share of the affine gradients; together they are the reference's.
                Close(devices.Select(d => results[d].GradW[step][k]!).Aggregate((a, b) => a + b), reference.GradW * scale, $"step {step} unit {k} weight gradient", 1e-4);
                Close(devices.Select(d => results[d].GradB[step][k]!).Aggregate((a, b) => a + b), reference.GradB * scale, $"step {step} unit {k} bias gradient", 1e-4);
            }
            for (int d = 0; d < World; d++)
            {
                Close(results[d].Y[step], expectedY[d], $"step {step} device {d} output", 1e-4);
                Close(results[d].GradX[step], expectedGradX[d], $"step {step} device {d} input gradient", 1e-4);
            }
        }

        // Every replica holds every unit's running statistics; a unit nobody ran keeps its initial ones.
        for (int d = 0; d < World; d++)
        {
            for (int k = 0; k < o.NumUnits; k++)
            {
                Close(results[d].RunningMean[k], native[k].running_mean!, $"device {d} unit {k} running mean", 1e-5);
                Close(results[d].RunningVar[k], native[k].running_var!, $"device {d} unit {k} running var", 1e-5);
                Assert.Equal(devicesOf[k].Length == 0 ? 0 : Steps, results[d].Tracked[k]);
            }
        }
    }

    // The tolerance is float32 rounding of the data's scale: with a mean 1000 times the spread the
    // float32 mean alone is uncertain by ~3e-5 standard deviations, in either path (the precision
    // against float64 is SyncBatchNormPrecisionSpecs' business, for both paths).
    [Theory]
    [InlineData(true, 5.0, 3.0, 1e-5)]
    [InlineData(false, 5.0, 3.0, 1e-5)]
    [InlineData(true, 1e3, 1.0, 1e-4)]
    [InlineData(false, 1e3, 1.0, 1e-4)]
    public void Should_agree_with_the_host_path_when_both_run_the_same_steps(bool soft, double mean, double std, double tolerance)
    {
        var host = RunDevices(new Options(soft, OnDevice: false, Mean: mean, Std: std));
        var device = RunDevices(new Options(soft, OnDevice: true, Mean: mean, Std: std));

        Assert.All(host, r => Assert.All(r.CollectiveDims, d => Assert.Equal(1, d)));
        Assert.All(device, r => Assert.All(r.CollectiveDims, d => Assert.Equal(2, d)));
        // Both paths round differently (different centring), by float32 rounding of the result.
        for (int d = 0; d < World; d++)
        {
            for (int step = 0; step < Steps; step++)
            {
                Close(device[d].Y[step], host[d].Y[step], $"device {d} step {step} output", tolerance);
                Close(device[d].GradX[step], host[d].GradX[step], $"device {d} step {step} input gradient", tolerance);
                for (int k = 0; k < host[d].GradW[step].Length; k++)
                {
                    Assert.Equal(host[d].GradW[step][k] is null, device[d].GradW[step][k] is null);
                    if (host[d].GradW[step][k] is { } w)
                    {
                        Close(device[d].GradW[step][k], w, $"device {d} step {step} unit {k} weight gradient", tolerance);
                        Close(device[d].GradB[step][k], host[d].GradB[step][k]!, $"device {d} step {step} unit {k} bias gradient", tolerance);
                    }
                }
            }
            for (int k = 0; k < host[d].RunningMean.Length; k++)
            {
                Close(device[d].RunningMean[k], host[d].RunningMean[k], $"device {d} unit {k} running mean", 1e-6);
                Close(device[d].RunningVar[k], host[d].RunningVar[k], $"device {d} unit {k} running var", 1e-6);
            }
            Assert.Equal(host[d].Tracked, device[d].Tracked);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Should_give_bit_identical_gradients_and_statistics_when_a_device_path_layer_is_checkpointed(bool soft)
    {
        var plain = RunDevices(new Options(soft));
        var checkpointed = RunDevices(new Options(soft, Checkpointed: true));

        for (int d = 0; d < World; d++)
        {
            // The recomputation replays the first pass's statistics: the same collectives, issued once.
            Assert.Equal(plain[d].CollectiveDims.Count, checkpointed[d].CollectiveDims.Count);
            for (int step = 0; step < Steps; step++)
            {
                TensorAssert.Equal(checkpointed[d].Y[step], plain[d].Y[step], $"device {d} step {step} output");
                TensorAssert.Equal(checkpointed[d].GradX[step], plain[d].GradX[step], $"device {d} step {step} input gradient");
                for (int k = 0; k < plain[d].GradW[step].Length; k++)
                {
                    Assert.Equal(plain[d].GradW[step][k] is null, checkpointed[d].GradW[step][k] is null);
                    if (plain[d].GradW[step][k] is { } w)
                    {
                        TensorAssert.Equal(checkpointed[d].GradW[step][k]!, w, $"device {d} step {step} unit {k} weight gradient");
                        TensorAssert.Equal(checkpointed[d].GradB[step][k]!, plain[d].GradB[step][k]!, $"device {d} step {step} unit {k} bias gradient");
                    }
                }
            }
            for (int k = 0; k < plain[d].RunningMean.Length; k++)
            {
                TensorAssert.Equal(checkpointed[d].RunningMean[k], plain[d].RunningMean[k], $"device {d} unit {k} running mean");
                TensorAssert.Equal(checkpointed[d].RunningVar[k], plain[d].RunningVar[k], $"device {d} unit {k} running var");
            }
            Assert.Equal(plain[d].Tracked, checkpointed[d].Tracked);
        }
    }

    [Fact]
    public void Should_stage_plain_batchnorm_statistics_as_libtorch_updates_them_when_no_group_is_bound()
    {
        // Per-device batch norm inside a step (a group of one, or the SyncBN ablation): two calls in
        // one step, staged and then committed, against BatchNorm2d's own updates and the host path.
        (float[] Exchange, Tensor Mean, Tensor Var, long Tracked, Tensor Unchanged) Run(bool onDevice)
        {
            var sync = new NormSync { ForceDeviceStatistics = onDevice };
            var bn = new SyncBatchNorm2d("bn", C, sync);
            sync.BeginStep(null, fuseUnits: false);
            bn.forward(Inputs(0, 0, 5, 3).X);
            bn.forward(Inputs(0, 1, 5, 3).X);
            var unchanged = bn.RunningMean.clone();        // staged only: the buffer waits for the commit
            var exchange = RunningStatsAverage.Pack([bn]);
            sync.CommitRunningStats();
            sync.EndStep();
            return (exchange, bn.RunningMean.clone(), bn.RunningVar.clone(), bn.NumBatchesTracked.item<long>(), unchanged);
        }

        var reference = NativeBn(0);
        reference.forward(Inputs(0, 0, 5, 3).X);
        reference.forward(Inputs(0, 1, 5, 3).X);
        var host = Run(onDevice: false);
        var device = Run(onDevice: true);

        TensorAssert.Equal(device.Unchanged, zeros(C), "running mean before the commit");
        TensorAssert.Close(device.Mean, reference.running_mean!, rtol: 1e-6, what: "running mean");
        TensorAssert.Close(device.Var, reference.running_var!, rtol: 1e-6, what: "running var");
        Assert.Equal(2, device.Tracked);
        TensorAssert.Equal(device.Mean, host.Mean, "running mean against the host path");
        TensorAssert.Equal(device.Var, host.Var, "running var against the host path");
        Assert.Equal(host.Exchange, device.Exchange);      // what the ablation's exchange sends
    }

    [Fact]
    public void Should_keep_the_live_tensor_count_flat_when_checkpointed_device_steps_repeat()
    {
        var live = Devices.Run(World, (rank, group) =>
        {
            var sync = new NormSync { ForceDeviceStatistics = true };
            var layer = new LegoLayer(1, 3, k => new SyncBatchNorm2d("bn", C, sync)) { CheckpointSync = sync };
            var counts = new long[3];
            for (int step = 0; step < counts.Length; step++)
            {
                using (var scope = NewDisposeScope())
                {
                    layer.zero_grad(true);
                    sync.BeginStep(group, fuseUnits: true);
                    var (x, r) = Inputs(step, rank, 5, 3);
                    (layer.forward(x.requires_grad_(true), LayerRoute.Single(HardUnitOf[rank])) * r).sum().backward();
                    sync.ThrowIfFailed();
                    sync.CommitRunningStats();
                    sync.EndStep();
                }
                counts[step] = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }
            return counts;
        });

        // The first step creates the gradients; after it, the tape's and the staged statistics' tensors must not pile up.
        Assert.All(live, counts => Assert.Equal(counts[1], counts[2]));
    }

    [Fact]
    public void Should_leave_running_statistics_as_committed_when_a_step_fails_after_staging_on_the_device()
    {
        var results = Devices.Run(2, (rank, group) =>
        {
            var sync = new NormSync { ForceDeviceStatistics = true };
            var layer = new LegoLayer(1, 2, k => new SyncBatchNorm2d("bn", C, sync));
            var bns = new[] { (SyncBatchNorm2d)layer.Unit(0), (SyncBatchNorm2d)layer.Unit(1) };
            void Step(int step, Action? onFirstBackward)
            {
                sync.BeginStep(group, fuseUnits: true, onFirstBackward);
                try
                {
                    var (x, r) = Inputs(step, rank, 5, 3);
                    (layer.forward(x.requires_grad_(true), LayerRoute.Single(rank)) * r).sum().backward();
                    sync.ThrowIfFailed();
                    sync.CommitRunningStats();
                }
                finally
                {
                    sync.EndStep();
                }
            }

            Step(0, null);
            var committed = bns.Select(bn => (Mean: bn.RunningMean.clone(), Var: bn.RunningVar.clone(), Tracked: bn.NumBatchesTracked.item<long>())).ToArray();
            int stagedAtFailure = -1;
            var failure = Record.Exception(() => Step(1, () =>
            {
                stagedAtFailure = sync.Staged.Count;
                throw new InvalidOperationException("injected backward failure");
            }));
            return (committed, stagedAtFailure, failure, bns.Select(bn => (Mean: bn.RunningMean.clone(), Var: bn.RunningVar.clone(), Tracked: bn.NumBatchesTracked.item<long>())).ToArray());
        });

        foreach (var (committed, stagedAtFailure, failure, after) in results)
        {
            Assert.IsType<InvalidOperationException>(failure);
            Assert.Equal(2, stagedAtFailure);        // the failed step's forward had staged both units' updates
            for (int k = 0; k < 2; k++)
            {
                Assert.Equal(1, committed[k].Tracked);
                TensorAssert.Equal(after[k].Mean, committed[k].Mean, $"unit {k} running mean");
                TensorAssert.Equal(after[k].Var, committed[k].Var, $"unit {k} running var");
                Assert.Equal(committed[k].Tracked, after[k].Tracked);
            }
        }
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void Should_read_no_tensor_data_on_the_host_when_the_layers_live_on_the_meta_device(bool soft, bool checkpointed)
    {
        // Tensors on the meta device have shapes and no data: any read of values on the host throws.
        // The switch stays off: a layer off the CPU takes the device path by itself.
        var group = new ProbeGroup(null);
        var sync = new NormSync();
        var layer = new LegoLayer(1, 2, k => new SyncBatchNorm2d("bn", C, sync));
        if (checkpointed)
        {
            layer.CheckpointSync = sync;
        }
        layer.to(META);
        var x = empty(Shapes[1], device: META).requires_grad_(true);
        var route = soft ? LayerRoute.Soft(empty(2, device: META)) : LayerRoute.Single(1);

        sync.BeginStep(group, fuseUnits: !soft);
        var y = layer.forward(x, route);
        (y * empty(Shapes[1], device: META)).sum().backward();
        var failure = sync.Failure;
        int staged = sync.Staged.Count;
        sync.CommitRunningStats();
        sync.EndStep();

        Assert.True(failure is null, $"the step failed: {failure}");
        Assert.Equal(DeviceType.META, y.device_type);
        Assert.Equal(Shapes[1], x.grad!.shape);
        Assert.Equal(DeviceType.META, x.grad!.device_type);
        Assert.Equal(2, staged);                    // soft: both units ran; hard: the fused row updates both units
        Assert.Equal(soft ? 4 : 2, group.Dims.Count);
    }

    /// <summary>
    /// Records the rank of the tensors every all-reduce is given (1: the host path's flat arrays, 2: the
    /// device path's rows) and hands the call on; without an inner group (the meta device) it checks
    /// that the tensors stay on the meta device and sums nothing, as a transport without data would.
    /// </summary>
    private sealed class ProbeGroup(ICollectiveGroup? inner) : ICollectiveGroup
    {
        private readonly List<long> dims = [];

        public IReadOnlyList<long> Dims => dims;

        public long Epoch => inner?.Epoch ?? 1;

        public int Rank => inner?.Rank ?? 0;

        public int WorldSize => inner?.WorldSize ?? 2;

        public bool IsAborted => inner?.IsAborted ?? false;

        public TimeSpan WaitTime => inner?.WaitTime ?? TimeSpan.Zero;

        public void AllReduceSum(IReadOnlyList<Tensor> tensors, string operation = "all-reduce")
        {
            dims.AddRange(tensors.Select(t => t.dim()));
            if (inner is null)
            {
                Assert.All(tensors, t => Assert.Equal(DeviceType.META, t.device_type));
                return;
            }
            inner.AllReduceSum(tensors, operation);
        }

        public void Broadcast(IReadOnlyList<Tensor> tensors, int root, string operation = "broadcast") => throw new NotSupportedException();

        public Tensor[] AllGather(Tensor tensor, string operation = "all-gather") => throw new NotSupportedException();

        public void Barrier(string operation = "barrier") => throw new NotSupportedException();

        public void Abort(string reason) => inner?.Abort(reason);

        public void Dispose()
        {
        }
    }
}
