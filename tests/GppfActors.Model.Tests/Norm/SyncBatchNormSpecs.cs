using GppfActors.Model.Backbone;
using GppfActors.Model.Norm;
using GppfActors.Model.Routing;
using GppfActors.Testing;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Norm;

/// <summary>SyncBN over k virtual devices against torch's own BatchNorm2d over the concatenated batch.</summary>
public class SyncBatchNormSpecs
{
    private const long C = 4;

    // Unequal batch sizes and spatial shapes per device, as in SIMT.
    private static readonly long[][] Shapes = [[2, C, 5, 5], [3, C, 4, 6], [1, C, 7, 3]];

    private sealed record DeviceResult(Tensor Y, Tensor GradX, Tensor GradW, Tensor GradB, Tensor RunningMean, Tensor RunningVar, long Tracked);

    private static (Tensor X, Tensor R) Inputs(int device)
    {
        using var g = new Generator((ulong)(100 + device));
        // A non-zero mean, so a naive E[x^2] - E[x]^2 would lose digits.
        var x = randn(Shapes[device], generator: g) * 3 + 5;
        var r = randn(Shapes[device], generator: g);
        return (x, r);
    }

    private static (Tensor W, Tensor B) Affine()
    {
        using var g = new Generator(7);
        return (randn(new[] { C }, generator: g) + 1, randn(new[] { C }, generator: g));
    }

    // BatchNorm2d over all devices' samples: every [B, C, H, W] becomes [C, B*H*W], concatenated
    // along the sample axis and viewed as [1, C, 1, M].
    private static (Tensor[] Y, Tensor[] GradX, Tensor GradW, Tensor GradB, BatchNorm2d Bn) Reference(IReadOnlyList<int> devices)
    {
        var (w, b) = Affine();
        var bn = nn.BatchNorm2d(C, eps: 1e-5, momentum: 0.1);
        using (no_grad())
        {
            bn.weight!.copy_(w);
            bn.bias!.copy_(b);
        }
        var xs = devices.Select(d => Inputs(d).X.requires_grad_(true)).ToArray();
        var flat = cat(xs.Select(x => x.permute(1, 0, 2, 3).reshape(C, -1)).ToArray(), 1);  // [C, M]
        var y = bn.forward(flat.reshape(1, C, 1, -1)).reshape(C, -1);                        // [C, M]
        var ys = new Tensor[devices.Count];
        long offset = 0;
        Tensor loss = zeros(1);
        for (int i = 0; i < devices.Count; i++)
        {
            var s = Shapes[devices[i]];
            long m = s[0] * s[2] * s[3];
            ys[i] = y.narrow(1, offset, m).reshape(C, s[0], s[2], s[3]).permute(1, 0, 2, 3);  // [B, C, H, W]
            loss = loss + (ys[i] * Inputs(devices[i]).R).sum();
            offset += m;
        }
        loss.backward();
        return (ys.Select(t => t.detach()).ToArray(), xs.Select(x => x.grad!).ToArray(), bn.weight!.grad!, bn.bias!.grad!, bn);
    }

    private static DeviceResult RunDevice(SyncBatchNorm2d bn, Tensor x, Tensor r, Func<Tensor, Tensor> forward)
    {
        x.requires_grad_(true);
        var y = forward(x);
        (y * r).sum().backward();
        return new DeviceResult(y.detach(), x.grad!, bn.Weight.grad ?? zeros(C), bn.Bias.grad ?? zeros(C),
            bn.RunningMean.clone(), bn.RunningVar.clone(), bn.NumBatchesTracked.item<long>());
    }

    [Fact]
    public void Should_equal_batchnorm_over_the_concatenated_batch_when_devices_have_unequal_shapes()
    {
        var results = Devices.Run(3, (rank, group) =>
        {
            var sync = new NormSync { Group = group };
            var bn = new SyncBatchNorm2d("bn", C, sync);
            var (w, b) = Affine();
            using (no_grad())
            {
                bn.Weight.copy_(w);
                bn.Bias.copy_(b);
            }
            var (x, r) = Inputs(rank);
            return RunDevice(bn, x, r, bn.forward);
        });

        var reference = Reference([0, 1, 2]);
        for (int d = 0; d < 3; d++)
        {
            TensorAssert.Close(results[d].Y, reference.Y[d], what: $"output of device {d}");
            TensorAssert.Close(results[d].GradX, reference.GradX[d], what: $"input gradient of device {d}");
            TensorAssert.Close(results[d].RunningMean, reference.Bn.running_mean!, what: $"running mean of device {d}");
            TensorAssert.Close(results[d].RunningVar, reference.Bn.running_var!, what: $"running var of device {d}");
            Assert.Equal(1, results[d].Tracked);
        }
        // Each device returns its own share of the affine gradients; together they are the reference's.
        TensorAssert.Close(results.Select(r => r.GradW).Aggregate((a, b) => a + b), reference.GradW, what: "weight gradient");
        TensorAssert.Close(results.Select(r => r.GradB).Aggregate((a, b) => a + b), reference.GradB, what: "bias gradient");
    }

    [Fact]
    public void Should_normalise_each_unit_over_the_devices_that_ran_it_when_hard_mode_fuses_units()
    {
        // Devices 0 and 1 run unit 0; device 2 runs unit 1; so unit 1 gets count 0 from devices 0 and 1
        // and unit 0 gets count 0 from device 2. One fused collective per BN index covers both units.
        int[] unitOf = [0, 0, 1];
        var results = Devices.Run(3, (rank, group) =>
        {
            var sync = new NormSync { Group = group, FuseUnits = true };
            var layer = new LegoLayer(3, 2, k => new SyncBatchNorm2d("bn", C, sync));
            var bns = new[] { (SyncBatchNorm2d)layer.Unit(0), (SyncBatchNorm2d)layer.Unit(1) };
            var (w, b) = Affine();
            using (no_grad())
            {
                foreach (var bn in bns)
                {
                    bn.Weight.copy_(w);
                    bn.Bias.copy_(b);
                }
            }
            var (x, r) = Inputs(rank);
            int unit = unitOf[rank];
            var own = RunDevice(bns[unit], x, r, input => layer.forward(input, LayerRoute.Single(unit)));
            var other = bns[1 - unit];
            return (own, OtherMean: other.RunningMean.clone(), OtherVar: other.RunningVar.clone(),
                OtherGrad: other.Weight.grad, OtherTracked: other.NumBatchesTracked.item<long>());
        });

        var unit0 = Reference([0, 1]);
        var unit1 = Reference([2]);
        TensorAssert.Close(results[0].own.Y, unit0.Y[0], what: "device 0 output");
        TensorAssert.Close(results[1].own.Y, unit0.Y[1], what: "device 1 output");
        TensorAssert.Close(results[2].own.Y, unit1.Y[0], what: "device 2 output");
        TensorAssert.Close(results[0].own.GradX, unit0.GradX[0], what: "device 0 input gradient");
        TensorAssert.Close(results[1].own.GradX, unit0.GradX[1], what: "device 1 input gradient");
        TensorAssert.Close(results[2].own.GradX, unit1.GradX[0], what: "device 2 input gradient");
        TensorAssert.Close(results[0].own.GradW + results[1].own.GradW, unit0.GradW, what: "unit 0 weight gradient");
        TensorAssert.Close(results[2].own.GradW, unit1.GradW, what: "unit 1 weight gradient");

        // Running statistics of both units are identical on every replica, including the unit a
        // device did not run (it learned them from the fused collective).
        for (int d = 0; d < 3; d++)
        {
            var (mean0, var0) = unitOf[d] == 0 ? (results[d].own.RunningMean, results[d].own.RunningVar) : (results[d].OtherMean, results[d].OtherVar);
            var (mean1, var1) = unitOf[d] == 1 ? (results[d].own.RunningMean, results[d].own.RunningVar) : (results[d].OtherMean, results[d].OtherVar);
            TensorAssert.Close(mean0, unit0.Bn.running_mean!, what: $"device {d} unit 0 running mean");
            TensorAssert.Close(var0, unit0.Bn.running_var!, what: $"device {d} unit 0 running var");
            TensorAssert.Close(mean1, unit1.Bn.running_mean!, what: $"device {d} unit 1 running mean");
            TensorAssert.Close(var1, unit1.Bn.running_var!, what: $"device {d} unit 1 running var");
            Assert.Equal(1, results[d].OtherTracked);
            Assert.Null(results[d].OtherGrad);
        }
    }

    [Fact]
    public void Should_use_running_statistics_without_collectives_when_evaluating()
    {
        var sync = new NormSync();
        var bn = new SyncBatchNorm2d("bn", C, sync);
        var reference = nn.BatchNorm2d(C);
        using (no_grad())
        {
            bn.RunningMean.copy_(tensor(new[] { 1f, 2, 3, 4 }));
            bn.RunningVar.copy_(tensor(new[] { 4f, 1, 0.5f, 2 }));
            reference.running_mean!.copy_(bn.RunningMean);
            reference.running_var!.copy_(bn.RunningVar);
        }
        bn.eval();
        reference.eval();
        var (x, _) = Inputs(0);
        TensorAssert.Close(bn.forward(x), reference.forward(x), what: "eval output");
    }
}
