using System.Diagnostics;
using GppfActors.Actors.Devices;
using GppfActors.Collectives;
using GppfActors.Model.Optim;
using GppfActors.Model.Training;
using GppfActors.Testing;
using static TorchSharp.torch;

namespace GppfActors.Actors.Tests.Training;

/// <summary>A device workload over the tiny backbone and the two toy tasks; can be told to throw once at a step (fault injection).</summary>
public sealed class ToyWorkload : IDeviceWorkload
{
    private readonly DeviceId device;
    private readonly FaultPlan faults;

    public ToyWorkload(DeviceId device, FaultPlan faults, long seed)
    {
        this.device = device;
        this.faults = faults;
        Replica = new Replica(Nets.Tiny(2, seed + device.Ordinal, ToyTasks.Colour, ToyTasks.Stripes), new OptimizerConfig(OptimizerKind.Sgd, WeightDecay: 1e-4));
    }

    public Replica Replica { get; }

    public DeviceStepOutcome Step(ICollectiveGroup group, StepPlan plan, IReadOnlyList<long> sampleIndices, NextStepHint? next)
    {
        if (faults.ShouldFail(device, plan.Step))
        {
            throw new InvalidOperationException($"injected fault on {device} at step {plan.Step}");
        }
        if (faults.Mismatches(device, plan.Step))
        {
            // A device that issues another collective than its peers at this point, every time.
            using var stray = zeros(3);
            group.AllReduceSum([stray], "stray-collective");
        }
        faults.HangIfAsked(device, plan.Step);
        if (faults.BadData(device, plan.Step))
        {
            throw new DeviceDataException($"/data/toy/{plan.Task}/{sampleIndices[0]}.png: decoding sample {sampleIndices[0]} failed (injected)", new InvalidDataException("bad PNG"));
        }
        var clock = Stopwatch.StartNew();
        var (x, y) = ToyTasks.Batch(plan.Task, sampleIndices[0], 0, sampleIndices.Count);
        double data = clock.Elapsed.TotalSeconds;
        bool poisoned = faults.NonFiniteLoss(device, plan.Step);
        var result = Replica.TrainStep(group, plan, (net, request) =>
        {
            var loss = nn.functional.cross_entropy(net.Forward(plan.Task, x, request), y);
            return poisoned ? loss * float.NaN : loss;
        });
        x.Dispose();
        y.Dispose();
        return new DeviceStepOutcome(result.Loss, new Dictionary<string, double>(), sampleIndices.Count, result, data);
    }

    public IReadOnlyDictionary<string, double> Evaluate(string task, int maxBatches)
    {
        faults.HangInEvaluationIfAsked(device);
        if (faults.EvaluationFails(task))
        {
            throw new InvalidDataException($"/data/toy/{task}/val/3.png: not a PNG (injected)");
        }
        using var scope = NewDisposeScope();
        Replica.Network.eval();
        using var _ = no_grad();
        double correct = 0, total = 0;
        for (int b = 0; b < maxBatches; b++)
        {
            var (x, y) = ToyTasks.Batch(task, 1_000_000 + b, 0, 16);
            var predicted = Replica.Network.Forward(task, x, Model.Network.RouteRequest.Eval).argmax(1);
            correct += predicted.eq(y).sum().item<long>();
            total += y.shape[0];
        }
        return new Dictionary<string, double> { ["top1"] = correct / total };
    }

    public void Dispose() => Replica.Dispose();
}

/// <summary>
/// Which device fails how at which step: throws once, issues a stray collective every time, hangs
/// outside any collective until released, reports bad data; and which task's evaluation throws.
/// </summary>
public sealed class FaultPlan(params (int Ordinal, long Step)[] faults)
{
    private readonly HashSet<(int, long)> pending = [.. faults];
    private readonly ManualResetEventSlim released = new(false);

    public (int Ordinal, long Step)? Mismatch { get; init; }

    public (int Ordinal, long Step)? Hang { get; init; }

    public (int Ordinal, long Step)? Data { get; init; }

    public string? FailingEvaluation { get; init; }

    /// <summary>The ordinal of a device that blocks in its first evaluation until <see cref="Release"/>: it has applied the step before and has no next one.</summary>
    public int? HangingEvaluation { get; init; }

    /// <summary>(device ordinal, step) pairs whose loss is NaN.</summary>
    public IReadOnlySet<(int Ordinal, long Step)> NonFinite { get; init; } = new HashSet<(int, long)>();

    /// <summary>Set once the hanging device is stuck.</summary>
    public ManualResetEventSlim Hanging { get; } = new(false);

    public bool ShouldFail(DeviceId device, long step)
    {
        lock (pending)
        {
            return pending.Remove((device.Ordinal, step));
        }
    }

    public bool Mismatches(DeviceId device, long step) => Mismatch == (device.Ordinal, step);

    public bool BadData(DeviceId device, long step) => Data == (device.Ordinal, step);

    public bool EvaluationFails(string task) => FailingEvaluation == task;

    public bool NonFiniteLoss(DeviceId device, long step) => NonFinite.Contains((device.Ordinal, step));

    /// <summary>Blocks the device (outside any collective) the first time it runs the hang step, until <see cref="Release"/>.</summary>
    public void HangIfAsked(DeviceId device, long step)
    {
        if (Hang == (device.Ordinal, step) && !Hanging.IsSet)
        {
            Hanging.Set();
            released.Wait(TimeSpan.FromMinutes(2));
        }
    }

    /// <summary>Blocks the device in its first evaluation, between two steps, until <see cref="Release"/>.</summary>
    public void HangInEvaluationIfAsked(DeviceId device)
    {
        if (HangingEvaluation == device.Ordinal && !Hanging.IsSet)
        {
            Hanging.Set();
            released.Wait(TimeSpan.FromMinutes(2));
        }
    }

    public void Release() => released.Set();
}

/// <summary>Creates toy workloads and keeps them so a test can compare the replicas.</summary>
public sealed class ToyWorkloadFactory(FaultPlan faults, long seed = 1, GppfActors.Actors.Checkpointing.CheckpointPayload? resumeFrom = null) : IDeviceWorkloadFactory
{
    private readonly List<ToyWorkload> created = [];
    private readonly Dictionary<DeviceId, ToyWorkload> latest = [];

    /// <summary>The newest workload of every device (a restarted device's old one is disposed).</summary>
    public IReadOnlyList<ToyWorkload> Live
    {
        get
        {
            lock (created)
            {
                return latest.Values.ToList();
            }
        }
    }

    public IReadOnlyList<ToyWorkload> Created
    {
        get
        {
            lock (created)
            {
                return created.ToList();
            }
        }
    }

    public IDeviceWorkload Create(DeviceId device)
    {
        var workload = new ToyWorkload(device, faults, seed);
        if (resumeFrom is not null)
        {
            workload.Replica.Restore(resumeFrom.ModelState, resumeFrom.OptimizerState);
        }
        lock (created)
        {
            created.Add(workload);
            latest[device] = workload;
        }
        return workload;
    }
}
