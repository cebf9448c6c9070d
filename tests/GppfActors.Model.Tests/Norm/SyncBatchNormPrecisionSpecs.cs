using GppfActors.Model.Backbone;
using GppfActors.Model.Norm;
using GppfActors.Model.Routing;
using GppfActors.Testing;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Norm;

/// <summary>
/// SyncBN's rounding error against BatchNorm2d in float64 over the concatenated batch, compared
/// with the error of libtorch's own float32 BatchNorm2d on the same data: SyncBN may not lose more
/// than a small factor of what native float32 loses, however large the channel mean is against its
/// standard deviation. 3 devices with unequal batch shapes, several steps (the running statistics,
/// which SyncBN uses as its shift, move between steps), unfused and hard-mode fused.
/// </summary>
public class SyncBatchNormPrecisionSpecs(ITestOutputHelper output)
{
    private const long C = 4;
    private const int World = 3;
    private const int Steps = 3;
    private const double AllowedFactor = 10;

    // Relative errors this small are rounding noise of the float64 reference comparison itself.
    private const double Floor = 1e-6;

    private static readonly long[][] Shapes = [[2, C, 5, 5], [3, C, 4, 6], [1, C, 7, 3]];

    private sealed record DeviceStep(Tensor Y, Tensor GradX, Tensor GradW, Tensor GradB);

    private static (Tensor X, Tensor R) Inputs(int step, int device, double mean, double std)
    {
        using var g = new Generator((ulong)(1000 * step + 10 * device + 3));
        var x = (randn(Shapes[device], dtype: float64, generator: g) * std + mean).to_type(float32);
        var r = randn(Shapes[device], generator: g);
        return (x, r);
    }

    private static (Tensor W, Tensor B) Affine()
    {
        using var g = new Generator(11);
        return (randn(new[] { C }, generator: g) + 1, randn(new[] { C }, generator: g));
    }

    private static double RelativeError(IEnumerable<Tensor> actual, IEnumerable<Tensor> reference)
    {
        var a = cat(actual.Select(t => t.detach().to_type(float64).reshape(-1)).ToArray());
        var b = cat(reference.Select(t => t.detach().to_type(float64).reshape(-1)).ToArray());
        double scale = b.abs().max().item<double>();
        double diff = (a - b).abs().max().item<double>();
        return scale > 0 ? diff / scale : diff;
    }

    // Runs SyncBN on every device for every step; in fused mode devices 0 and 1 run unit 0 of a
    // two-unit lego layer and device 2 runs unit 1.
    private static DeviceStep[][] RunSyncBn(double mean, double std, bool fused, int[] unitOf, bool onDevice) =>
        Devices.Run(World, (rank, group) =>
        {
            var sync = new NormSync { Group = group, FuseUnits = fused, ForceDeviceStatistics = onDevice };
            var layer = new LegoLayer(1, fused ? 2 : 1, k => new SyncBatchNorm2d("bn", C, sync));
            var (w, b) = Affine();
            var bns = Enumerable.Range(0, layer.NumUnits).Select(k => (SyncBatchNorm2d)layer.Unit(k)).ToArray();
            using (no_grad())
            {
                foreach (var bn in bns)
                {
                    bn.Weight.copy_(w);
                    bn.Bias.copy_(b);
                }
            }
            var own = bns[unitOf[rank]];
            var results = new DeviceStep[Steps];
            for (int step = 0; step < Steps; step++)
            {
                own.Weight.grad = null;
                own.Bias.grad = null;
                var (x, r) = Inputs(step, rank, mean, std);
                x.requires_grad_(true);
                var y = layer.forward(x, LayerRoute.Single(unitOf[rank]));
                (y * r).sum().backward();
                sync.ThrowIfFailed();
                results[step] = new DeviceStep(y.detach(), x.grad!, own.Weight.grad!.clone(), own.Bias.grad!.clone());
            }
            return results;
        });

    // Batch norm over the concatenation of the given devices' batches: every [B, C, H, W] becomes
    // [C, B*H*W], concatenated along the sample axis and viewed as [1, C, 1, M].
    private static DeviceStep[] Reference(BatchNorm2d bn, ScalarType dtype, int step, int[] devices, double mean, double std)
    {
        var inputs = devices.Select(d => Inputs(step, d, mean, std)).ToArray();
        var xs = inputs.Select(i => i.X.to_type(dtype).requires_grad_(true)).ToArray();
        var flat = cat(xs.Select(x => x.permute(1, 0, 2, 3).reshape(C, -1)).ToArray(), 1);     // [C, M]
        var y = bn.forward(flat.reshape(1, C, 1, -1)).reshape(C, -1);                           // [C, M]
        var ys = new Tensor[devices.Length];
        long offset = 0;
        Tensor loss = zeros(1, dtype: dtype);
        for (int i = 0; i < devices.Length; i++)
        {
            var s = Shapes[devices[i]];
            long m = s[0] * s[2] * s[3];
            ys[i] = y.narrow(1, offset, m).reshape(C, s[0], s[2], s[3]).permute(1, 0, 2, 3);      // [B, C, H, W]
            loss = loss + (ys[i] * inputs[i].R.to_type(dtype)).sum();
            offset += m;
        }
        bn.weight!.grad = null;
        bn.bias!.grad = null;
        loss.backward();
        return devices.Select((d, i) => new DeviceStep(ys[i].detach(), xs[i].grad!, bn.weight!.grad!.clone(), bn.bias!.grad!.clone())).ToArray();
    }

    private static BatchNorm2d NativeBn(ScalarType dtype)
    {
        var bn = nn.BatchNorm2d(C, eps: 1e-5, momentum: 0.1);
        var (w, b) = Affine();
        using (no_grad())
        {
            bn.weight!.copy_(w);
            bn.bias!.copy_(b);
        }
        bn.to(dtype);
        return bn;
    }

    // onDevice: the device-resident statistics (DeviceBatchStatistics), forced on the CPU.
    [Theory]
    [InlineData(0.0, 1.0, false, false)]
    [InlineData(50.0, 1.0, false, false)]
    [InlineData(100.0, 0.01, false, false)]
    [InlineData(1e4, 1.0, false, false)]
    [InlineData(0.0, 1.0, true, false)]
    [InlineData(50.0, 1.0, true, false)]
    [InlineData(100.0, 0.01, true, false)]
    [InlineData(1e4, 1.0, true, false)]
    [InlineData(0.0, 1.0, false, true)]
    [InlineData(50.0, 1.0, false, true)]
    [InlineData(100.0, 0.01, false, true)]
    [InlineData(1e4, 1.0, false, true)]
    [InlineData(0.0, 1.0, true, true)]
    [InlineData(50.0, 1.0, true, true)]
    [InlineData(100.0, 0.01, true, true)]
    [InlineData(1e4, 1.0, true, true)]
    public void Should_lose_at_most_ten_times_native_float32_precision_when_the_mean_is_large_against_the_spread(double mean, double std, bool fused, bool onDevice)
    {
        int[] unitOf = fused ? [0, 0, 1] : [0, 0, 0];
        var sync = RunSyncBn(mean, std, fused, unitOf, onDevice);
        var units = unitOf.Distinct().Select(u => Enumerable.Range(0, World).Where(d => unitOf[d] == u).ToArray()).ToArray();
        var exact = units.Select(_ => NativeBn(float64)).ToArray();
        var native = units.Select(_ => NativeBn(float32)).ToArray();

        var worst = new Dictionary<string, (double Sync, double Native)>();
        void Record(string what, double syncError, double nativeError)
        {
            var (s, n) = worst.GetValueOrDefault(what);
            worst[what] = (Math.Max(s, syncError), Math.Max(n, nativeError));
        }
        for (int step = 0; step < Steps; step++)
        {
            for (int u = 0; u < units.Length; u++)
            {
                var devices = units[u];
                var e = Reference(exact[u], float64, step, devices, mean, std);
                var n = Reference(native[u], float32, step, devices, mean, std);
                var s = devices.Select(d => sync[d][step]).ToArray();
                Record("output", RelativeError(s.Select(r => r.Y), e.Select(r => r.Y)), RelativeError(n.Select(r => r.Y), e.Select(r => r.Y)));
                Record("input gradient", RelativeError(s.Select(r => r.GradX), e.Select(r => r.GradX)), RelativeError(n.Select(r => r.GradX), e.Select(r => r.GradX)));
                // Each device returns its own share of the affine gradients; fusion adds them up.
                Record("weight gradient", RelativeError([s.Select(r => r.GradW.to_type(float64)).Aggregate((a, b) => a + b)], [e[0].GradW]), RelativeError([n[0].GradW], [e[0].GradW]));
                Record("bias gradient", RelativeError([s.Select(r => r.GradB.to_type(float64)).Aggregate((a, b) => a + b)], [e[0].GradB]), RelativeError([n[0].GradB], [e[0].GradB]));
            }
        }

        output.WriteLine($"mean {mean:g}, std {std:g}, {(fused ? "hard (fused)" : "soft")}, {(onDevice ? "device" : "host")} path, {Steps} steps: max relative error, SyncBN vs native float32 BatchNorm2d");
        foreach (var (what, (s, n)) in worst)
        {
            output.WriteLine($"  {what,-16} SyncBN {s:0.0e+0}   native {n:0.0e+0}");
        }
        Assert.All(worst, kv => Assert.True(kv.Value.Sync <= AllowedFactor * kv.Value.Native + Floor,
            $"{kv.Key}: SyncBN error {kv.Value.Sync:g3} is above {AllowedFactor} x native float32 error {kv.Value.Native:g3} + {Floor:g1}"));
    }
}
