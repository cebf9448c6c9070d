using System.Diagnostics;
using GppfActors.Collectives;
using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Precision;
using GppfActors.Model.Routing;
using GppfActors.Model.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GppfActors.Host.Gpu;

/// <summary>
/// The self-test's training runs: one replica of a GPPF network (two units per lego layer, soft
/// routing, SyncBN, task average) with one classification task on synthetic batches whose class
/// decides which colour channel is lit, stepped through <see cref="Replica.TrainStep"/> on a device.
/// Batches are made on the CPU from (seed, step), so runs on different devices see the same data.
/// </summary>
internal static class SelfTestTraining
{
    private const string Task = "toy";
    private const int NumClasses = 4;

    public sealed record Result(IReadOnlyList<double> Losses, IReadOnlyDictionary<string, Tensor> State, double MedianStepSeconds);

    /// <summary>
    /// <paramref name="steps"/> steps on <paramref name="device"/>; <paramref name="group"/> is the
    /// device's 1-rank group (NCCL on CUDA), or null for the CPU's in-process group.
    /// </summary>
    public static Result Run(Device device, ICollectiveGroup? group, int steps, long seed, bool small = false, int numUnits = 2, bool syncBatchNorm = true,
        ComputePrecision precision = ComputePrecision.Fp32)
    {
        if (group is null && device.type != DeviceType.CPU)
        {
            throw new ArgumentException($"a group is needed on {device}");
        }
        var config = small ? BackboneConfig.Small(numUnits) : BackboneConfig.Tiny(numUnits);
        var network = new GppfNetwork(config, [new TaskHeadSpec(Task, (channels, g) => new ClassifierHead(channels[^1], NumClasses, g))], seed)
        {
            Precision = precision,
        };
        if (device.type != DeviceType.CPU)
        {
            // Built on the CPU (its initialisation draws from CPU generators), then moved; whether a
            // moved replica steps as the CPU one does is what the cuda:0-vs-CPU check decides.
            network.to(device);
        }
        using var replica = new Replica(network, new OptimizerConfig(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 1e-4));
        using var hubGroup = group is null ? new InProcessCollectiveHub(1, 1, TimeSpan.FromSeconds(60)).Join(0) : null;
        var stepGroup = group ?? hubGroup!;
        var losses = new List<double>();
        var seconds = new List<double>();
        int size = small ? 32 : 16;
        for (int step = 0; step < steps; step++)
        {
            var plan = new StepPlan(step, Task, [Task], RoutingMode.Soft, 1.0, 0.05, (ulong)seed) { SyncBatchNorm = syncBatchNorm };
            // The host batch is made before the clock starts, as bench/pytorch/step_time.py makes its
            // own: the step time (and its ratio to PyTorch's) covers the copy to the device and the step.
            using var batchScope = NewDisposeScope();
            var (x, y) = Batch(seed, step, size);
            var clock = Stopwatch.StartNew();
            var result = replica.TrainStep(stepGroup, plan, (net, request) =>
                nn.functional.cross_entropy(net.Forward(Task, x.to(device), request), y.to(device)));
            seconds.Add(clock.Elapsed.TotalSeconds);
            losses.Add(result.Loss);
        }
        var state = replica.Network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().clone().DetachFromDisposeScope());
        seconds.Sort();
        return new Result(losses, state, seconds.Count == 0 ? 0 : seconds[seconds.Count / 2]);
    }

    /// <summary>Eight images [8, 3, size, size]: noise, plus a lit channel (class 0-2) or all three (class 3).</summary>
    private static (Tensor X, Tensor Y) Batch(long seed, int step, int size)
    {
        using var g = new Generator((ulong)(seed * 1_000_003 + step));
        var y = randint(0, NumClasses, [8], generator: g);
        var x = randn([8, 3, size, size], generator: g) * 0.5;
        var labels = y.data<long>().ToArray();
        for (int i = 0; i < labels.Length; i++)
        {
            var channels = labels[i] == 3 ? TensorIndex.Colon : TensorIndex.Single(labels[i]);
            x[i, channels] += 1.5;
        }
        return (x, y);
    }

    /// <summary>The largest |a - b| / (max|b| + 1e-6) over every tensor of two state dicts.</summary>
    public static double MaxRelativeGap(IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> b)
    {
        double worst = 0;
        foreach (var (key, value) in a)
        {
            if (!value.is_floating_point())
            {
                continue;
            }
            var other = b[key];
            double scale = other.abs().max().item<float>() + 1e-6;
            worst = Math.Max(worst, (value - other).abs().max().item<float>() / scale);
        }
        return worst;
    }
}
