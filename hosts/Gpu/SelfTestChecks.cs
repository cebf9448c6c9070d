using System.Diagnostics;
using GppfActors.Collectives;
using GppfActors.Collectives.Native;
using GppfActors.Collectives.Nccl;
using GppfActors.Model.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace GppfActors.Host.Gpu;

/// <summary>
/// The GPU self-test's checks, one method each. A check returns its detail or throws
/// <see cref="CheckFailed"/> (or anything else: a failure too); <see cref="Skip"/> marks one whose
/// precondition is missing.
/// </summary>
internal sealed class SelfTestChecks(GpuSelfTestOptions options)
{
    private NcclGroupFactory? _nccl;
    private string? _ncclProblem;

    /// <summary>A check's failure with a message for the report.</summary>
    public sealed class CheckFailed(string message) : Exception(message);

    /// <summary>A check not run because <see cref="Exception.Message"/> says what it lacks.</summary>
    public sealed class Skip(string message) : Exception(message);

    public static bool CudaAvailable => TorchStartup.Failure is null && cuda.is_available() && cuda.device_count() > 0;

    private static void NeedCuda()
    {
        if (TorchStartup.Failure is not null)
        {
            throw new Skip("LibTorch is not loaded");
        }
        if (!cuda.is_available())
        {
            throw new Skip("CUDA absent");
        }
    }

    /// <summary>The build references a TorchSharp with the CUDA path (GppfTorch system or cuda).</summary>
    public string BuildHasCudaPath()
    {
#if GPPF_CUDA
        return $"build mode {TorchStartup.BuildMode}";
#else
        throw new CheckFailed("this is the CPU build (TorchSharp-cpu); build with -p:GppfTorch=system (LibTorch from an installed PyTorch) or -p:GppfCuda=true");
#endif
    }

    /// <summary>LibTorch is loaded: in system builds from the PyTorch found, with every wrapper import bound.</summary>
    public string LibTorchLoaded()
    {
        if (TorchStartup.Failure is { } failure)
        {
            throw new CheckFailed(failure);
        }
        string version = torch.__version__;
        return TorchStartup.Runtime is { } runtime
            ? $"LibTorch {runtime.Installation.Version} from {runtime.Installation.LibDir} ({runtime.Installation.Origin}); wrapper bound; libtorch reports {version}" +
              (runtime.VersionNote is { } note ? $"; {note}" : "")
            : $"LibTorch {version} from the TorchSharp package";
    }

    /// <summary>CUDA is available with at least one device.</summary>
    public string CudaFound()
    {
        if (TorchStartup.Failure is not null)
        {
            throw new Skip("LibTorch is not loaded");
        }
        if (!cuda.is_available() || cuda.device_count() == 0)
        {
            throw new CheckFailed(TorchStartup.Runtime is { HasCudaLibraries: false }
                ? $"CUDA absent: the LibTorch in {TorchStartup.Runtime.Installation.LibDir} has no libtorch_cuda.so (a CPU-only PyTorch)"
                : "CUDA absent: libtorch sees no CUDA device (no GPU, no driver, or a CPU-only LibTorch)");
        }
        return $"{cuda.device_count()} device(s); cuDNN {(cuda.is_cudnn_available() ? "available" : "absent")}";
    }

    /// <summary>NCCL loads from the PyTorch installation.</summary>
    public string NcclLoaded()
    {
        NeedCuda();
        var factory = Nccl();
        int v = factory.NcclVersion;
        return $"NCCL {v / 10000}.{v / 100 % 100}.{v % 100}";
    }

    private NcclGroupFactory Nccl()
    {
        if (_nccl is not null)
        {
            return _nccl;
        }
        if (_ncclProblem is not null)
        {
            throw new Skip(_ncclProblem);
        }
        try
        {
            var installation = TorchStartup.Runtime?.Installation
                ?? PyTorchInstallation.Locate(options.TorchLib, Environment.GetEnvironmentVariable, () => PyTorchInstallation.AskPython());
            return _nccl = NcclGroupFactory.Open(installation);
        }
        catch (Exception e) when (e is NcclUnavailableException or LibTorchNotFoundException)
        {
            _ncclProblem = $"NCCL unavailable: {e.Message}";
            throw new CheckFailed(_ncclProblem);
        }
    }

    private long _epoch;

    // The whole self-test runs inside one command of a GPU machine that is stopped after ten minutes,
    // report or not; the child processes' limits leave room for every other check (which take seconds
    // on a GPU, or a few NCCL time-outs when something hangs) and for writing the report.
    // On an H200 the child trains in well under a minute and the benchmark takes some 20 s.
    internal static readonly TimeSpan TrainChildLimit = TimeSpan.FromMinutes(3);
    internal static readonly TimeSpan PyTorchBenchLimit = TimeSpan.FromSeconds(90);

    private GroupSpec NcclSpec(int worldSize, double timeoutSeconds) =>
        new GroupSpec(++_epoch, timeoutSeconds, [.. Enumerable.Range(0, worldSize).Select(r => new GroupMember(r, "self-test", ""))])
        { NcclUniqueId = Nccl().NewUniqueId() };

    /// <summary>All-reduce, broadcast and all-gather of known values, over min(2, devices) GPUs (NCCL refuses two ranks on one GPU).</summary>
    public string NcclCollectives()
    {
        NeedCuda();
        int ranks = Math.Min(2, cuda.device_count());
        var spec = NcclSpec(ranks, options.TimeoutSeconds);
        var errors = new string?[ranks];
        var threads = Enumerable.Range(0, ranks).Select(rank => new Thread(() =>
        {
            try
            {
                using var scope = NewDisposeScope();
                var device = new Device(DeviceType.CUDA, rank);
                using var group = Nccl().Join(spec, rank, rank);
                var a = (arange(1000, float32, device) + 1) * (rank + 1);
                var b = full([3, 3], (double)rank, float64, device);
                group.AllReduceSum([a, b], "self-test all-reduce");
                double factor = ranks * (ranks + 1) / 2.0;
                Expect(a.cpu(), (arange(1000, float32) + 1) * factor, "all-reduce float32");
                Expect(b.cpu(), full([3, 3], ranks * (ranks - 1) / 2.0, float64), "all-reduce float64");
                var w = full([5], 10.0f + rank, float32, device);
                group.Broadcast([w], root: ranks - 1, "self-test broadcast");
                Expect(w.cpu(), full([5], 10.0f + ranks - 1, float32), "broadcast");
                var gathered = group.AllGather(tensor(new long[] { rank, 100 + rank }, device: device), "self-test all-gather");
                for (int r = 0; r < ranks; r++)
                {
                    Expect(gathered[r].cpu(), tensor(new long[] { r, 100 + r }), $"all-gather from rank {r}");
                }
            }
            catch (Exception e)
            {
                errors[rank] = e.Message;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (errors.FirstOrDefault(e => e is not null) is { } error)
        {
            throw new CheckFailed(error);
        }
        return $"{ranks} rank(s): all-reduce (float32, float64), broadcast, all-gather equal the expected values";
    }

    /// <summary>A 2-rank communicator whose second rank never joins is aborted within the time-out; a new communicator then works.</summary>
    public string NcclAbortAndRecover()
    {
        NeedCuda();
        double timeout = Math.Min(options.TimeoutSeconds, 5);
        var clock = Stopwatch.StartNew();
        try
        {
            Nccl().Join(NcclSpec(2, timeout), 0, 0).Dispose();
            throw new CheckFailed("a communicator formed although rank 1 never joined");
        }
        catch (CollectiveTimeoutException)
        {
        }
        double abortSeconds = clock.Elapsed.TotalSeconds;
        if (abortSeconds > timeout + 2)
        {
            throw new CheckFailed($"the abort came after {abortSeconds:F2} s, time-out {timeout} s");
        }
        using var scope = NewDisposeScope();
        using var group = Nccl().Join(NcclSpec(1, options.TimeoutSeconds), 0, 0);
        var x = full([16], 3.0f, float32, new Device(DeviceType.CUDA, 0));
        group.AllReduceSum([x], "after abort");
        Expect(x.cpu(), full([16], 3.0f), "1-rank all-reduce after the abort");
        return $"aborted after {abortSeconds:F2} s (time-out {timeout} s); the next communicator reduced correctly";
    }

    /// <summary>
    /// Three training steps of the same network (tiny backbone, two units, SyncBN, task average) on
    /// cuda:0 through a 1-rank NCCL group and on the CPU through the in-process group: losses and
    /// parameters agree within fp32 tolerance.
    /// </summary>
    public string CudaStepEqualsCpuStep()
    {
        NeedCuda();
        // The CPU reference runs on one libtorch thread: with two, two CPU runs of this network in
        // one process already differed after one step (seen on a 2-core machine), which would make
        // the comparison meaningless.
        torch.set_num_threads(1);
        var cpuRun = SelfTestTraining.Run(CPU, null, steps: 3, seed: 11);
        using var group = Nccl().Join(NcclSpec(1, options.TimeoutSeconds), 0, 0);
        // libtorch lets cuDNN convolve in TF32 by default (10-bit mantissa on Ampere and later), which
        // is not the float32 arithmetic the CPU reference does; the comparison turns it off for its run.
        bool tf32 = torch.backends.cudnn.allow_tf32;
        torch.backends.cudnn.allow_tf32 = false;
        SelfTestTraining.Result gpuRun;
        try
        {
            gpuRun = SelfTestTraining.Run(new Device(DeviceType.CUDA, 0), group, steps: 3, seed: 11);
        }
        finally
        {
            torch.backends.cudnn.allow_tf32 = tf32;
        }
        double lossGap = cpuRun.Losses.Zip(gpuRun.Losses, (a, b) => Math.Abs(a - b) / Math.Max(1e-6, Math.Abs(a))).Max();
        double paramGap = SelfTestTraining.MaxRelativeGap(cpuRun.State, gpuRun.State);
        if (lossGap > 1e-3 || paramGap > 1e-3)
        {
            throw new CheckFailed($"cuda:0 differs from the CPU: losses by {lossGap:E2} (relative), parameters by {paramGap:E2}");
        }
        return $"3 steps: losses agree to {lossGap:E2}, parameters to {paramGap:E2} (relative, limit 1e-3)";
    }

    /// <summary>200 steps on cuda:0 of the small backbone on synthetic batches: the loss falls.</summary>
    public string TrainingLossFalls()
    {
        NeedCuda();
        using var group = Nccl().Join(NcclSpec(1, options.TimeoutSeconds), 0, 0);
        return LossFalls(new Device(DeviceType.CUDA, 0), group);
    }

    /// <summary>The loss-falls check on <paramref name="device"/> (its group; null: the CPU's in-process one).</summary>
    internal static string LossFalls(Device device, ICollectiveGroup? group)
    {
        var run = SelfTestTraining.Run(device, group, steps: 200, seed: 5, small: true);
        double first = run.Losses.Take(20).Average();
        double last = run.Losses.Skip(180).Average();
        if (!(last < 0.8 * first))
        {
            throw new CheckFailed($"mean loss of steps 0-19 {first:F3}, of steps 180-199 {last:F3}: did not fall by 20 %");
        }
        return $"mean loss {first:F3} (steps 0-19) -> {last:F3} (steps 180-199); {run.MedianStepSeconds * 1000:F1} ms per step";
    }

    /// <summary>
    /// bf16 mixed precision on cuda:0 (<c>train.precision=bf16</c>): 60 steps of the small backbone
    /// from the same weights and batches as an fp32 run. The first step's loss (same weights, same
    /// batch) agrees within 2 %, the loss falls as fp32's does, the parameters stay fp32; the step
    /// times of both are reported side by side.
    /// </summary>
    public string Bf16OnCuda()
    {
        NeedCuda();
        using var group = Nccl().Join(NcclSpec(1, options.TimeoutSeconds), 0, 0);
        return Bf16FollowsFp32(new Device(DeviceType.CUDA, 0), group);
    }

    /// <summary>The bf16 check on <paramref name="device"/> (its group; null: the CPU's in-process one).</summary>
    internal static string Bf16FollowsFp32(Device device, ICollectiveGroup? group)
    {
        const int Steps = 60;
        var fp32 = SelfTestTraining.Run(device, group, Steps, seed: 7, small: true);
        var bf16 = SelfTestTraining.Run(device, group, Steps, seed: 7, small: true, precision: ComputePrecision.Bf16);
        double firstGap = Math.Abs(bf16.Losses[0] - fp32.Losses[0]) / Math.Max(1e-6, Math.Abs(fp32.Losses[0]));
        double late32 = fp32.Losses.Skip(Steps - 10).Average(), late16 = bf16.Losses.Skip(Steps - 10).Average();
        double early16 = bf16.Losses.Take(10).Average();
        string figures = $"first-step loss gap {firstGap:P2}; mean loss of the first 10 bf16 steps {early16:F3}, of the last 10 fp32 {late32:F3}, bf16 {late16:F3}; " +
            $"{fp32.MedianStepSeconds * 1000:F1} ms (fp32) vs {bf16.MedianStepSeconds * 1000:F1} ms (bf16) per step, ratio {bf16.MedianStepSeconds / fp32.MedianStepSeconds:F2}";
        if (bf16.State.FirstOrDefault(kv => kv.Value.is_floating_point() && kv.Value.dtype != ScalarType.Float32) is { Key: { } key } other)
        {
            throw new CheckFailed($"{key} is {other.Value.dtype} after bf16 training; parameters and buffers must stay float32");
        }
        if (firstGap > 0.02 || !double.IsFinite(late16) || !(late16 < 0.8 * early16))
        {
            throw new CheckFailed($"bf16 does not follow fp32: {figures}");
        }
        return figures;
    }

    /// <summary>
    /// <c>gppf train</c> of cpu-small on the GPUs (cuda:0, and cuda:1 when there is one) as a child
    /// process: device actors on CUDA, NCCL groups whose id rank 0's process made and the coordinator
    /// handed out, a checkpoint written from the GPUs and committed, and (the run's own check at its
    /// end) every replica's SHA-256 equal.
    /// </summary>
    public string ActorsTrainOnCuda()
    {
        NeedCuda();
        string devices = cuda.device_count() >= 2 ? "cuda:0,1" : "cuda:0";
        string dir = Path.Combine(options.OutDir, "train-on-cuda");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        Directory.CreateDirectory(dir);
        var start = SelfStart();
        foreach (string arg in (string[])["train", "--job", "cpu-small", "--devices", devices, "--plain", "--report-every", "10",
            "--set", "train.max_steps=40", "--set", "checkpoint.every_steps=20", "--set", "eval.every_steps=40",
            "--set", $"checkpoint.dir={Path.Combine(dir, "run")}", "--set", $"data.root={Path.Combine(dir, "data")}"])
        {
            start.ArgumentList.Add(arg);
        }
        if (options.TorchLib is { } torchLib)
        {
            start.ArgumentList.Add(TorchStartup.TorchLibOptionName);
            start.ArgumentList.Add(torchLib);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new CheckFailed($"{start.FileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TrainChildLimit))
        {
            process.Kill(entireProcessTree: true);
            // What it printed until then, for the report's pointer to the log.
            if (Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(10)))
            {
                File.WriteAllText(Path.Combine(dir, "train.log"), stdout.Result + stderr.Result);
            }
            throw new CheckFailed($"gppf train --devices {devices} did not finish within {TrainChildLimit.TotalMinutes:0} minutes (output in {dir}/train.log)");
        }
        string output = stdout.Result + stderr.Result;
        File.WriteAllText(Path.Combine(dir, "train.log"), output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (process.ExitCode != 0)
        {
            throw new CheckFailed($"gppf train --devices {devices} exited {process.ExitCode}: {string.Join(" | ", lines.TakeLast(4))}");
        }
        int checkpoints = lines.Count(l => l.StartsWith("checkpoint step ", StringComparison.Ordinal) && l.Contains(" committed", StringComparison.Ordinal));
        if (checkpoints < 2)
        {
            throw new CheckFailed($"gppf train --devices {devices} committed {checkpoints} checkpoint(s), expected 2 (steps 20 and 40; output in {dir}/train.log)");
        }
        int ranks = devices.Split(',').Length;
        string? identical = lines.FirstOrDefault(l => l.StartsWith($"replicas identical: {ranks} device(s)", StringComparison.Ordinal));
        if (identical is null)
        {
            throw new CheckFailed($"gppf train --devices {devices} did not report {ranks} identical replica(s) at the end (output in {dir}/train.log)");
        }
        return $"gppf train --devices {devices}, 40 steps, {checkpoints} checkpoints, {identical}";
    }

    // This program again: the published gppf, or dotnet with gppf.dll.
    private static ProcessStartInfo SelfStart()
    {
        string path = Environment.ProcessPath ?? throw new CheckFailed("the path of this program is unknown");
        var start = new ProcessStartInfo(path);
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            start.ArgumentList.Add(typeof(SelfTestChecks).Assembly.Location);
        }
        return start;
    }

    /// <summary>Median step time of the small backbone on cuda:0 against the CPU (reported, not judged).</summary>
    public string StepTimeGpuVsCpu()
    {
        NeedCuda();
        using var group = Nccl().Join(NcclSpec(1, options.TimeoutSeconds), 0, 0);
        var gpu = SelfTestTraining.Run(new Device(DeviceType.CUDA, 0), group, steps: 30, seed: 3, small: true);
        torch.set_num_threads(Environment.ProcessorCount);
        var cpuRun = SelfTestTraining.Run(CPU, null, steps: 30, seed: 3, small: true);
        return $"median step: cuda:0 {gpu.MedianStepSeconds * 1000:F2} ms, CPU ({Environment.ProcessorCount} threads) {cpuRun.MedianStepSeconds * 1000:F2} ms ({cpuRun.MedianStepSeconds / gpu.MedianStepSeconds:F1}x)";
    }

    /// <summary>
    /// The median step of the small backbone with one unit per layer (a plain ResNet) on cuda:0
    /// against the same network in PyTorch eager (<c>bench/pytorch/step_time.py</c>, given with
    /// <c>--pytorch-bench</c>) on the same GPU; the goal is a ratio of at most 1.10. The TorchSharp
    /// step is the system's (<see cref="GppfActors.Model.Training.Replica.TrainStep"/> with the task average
    /// through a 1-rank NCCL group), with per-device BatchNorm as the PyTorch network has.
    /// </summary>
    public string TorchSharpVsPyTorch()
    {
        NeedCuda();
        if (options.PyTorchBench is null)
        {
            throw new Skip("no --pytorch-bench script given (bench/pytorch/step_time.py)");
        }
        if (!File.Exists(options.PyTorchBench))
        {
            throw new CheckFailed($"--pytorch-bench: '{options.PyTorchBench}' does not exist");
        }
        using var group = Nccl().Join(NcclSpec(1, options.TimeoutSeconds), 0, 0);
        var ours = SelfTestTraining.Run(new Device(DeviceType.CUDA, 0), group, steps: 70, seed: 3, small: true, numUnits: 1, syncBatchNorm: false);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("PYTHON") ?? "python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in new[] { options.PyTorchBench, "--device", "cuda:0", "--steps", "60", "--warmup", "10" })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new CheckFailed("python3 did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(PyTorchBenchLimit))
        {
            process.Kill(entireProcessTree: true);
            throw new CheckFailed($"the PyTorch benchmark did not finish within {PyTorchBenchLimit.TotalSeconds:0} s");
        }
        if (process.ExitCode != 0)
        {
            throw new CheckFailed($"the PyTorch benchmark failed (exit {process.ExitCode}): {stderr.GetAwaiter().GetResult().Trim().Split('\n').LastOrDefault()}");
        }
        using var json = System.Text.Json.JsonDocument.Parse(stdout.GetAwaiter().GetResult().Trim().Split('\n').Last());
        double pytorchMs = json.RootElement.GetProperty("median_step_ms").GetDouble();
        double oursMs = ours.MedianStepSeconds * 1000;
        double ratio = oursMs / pytorchMs;
        string detail = $"median step: TorchSharp {oursMs:F2} ms, PyTorch eager {pytorchMs:F2} ms (torch {json.RootElement.GetProperty("torch").GetString()}): ratio {ratio:F2} (goal <= 1.10)";
        return ratio <= 1.10 ? detail : throw new CheckFailed(detail);
    }

    private static void Expect(Tensor actual, Tensor expected, string what)
    {
        if (!actual.allclose(expected, rtol: 1e-6, atol: 1e-6))
        {
            throw new CheckFailed($"{what}: got {actual.ToString(TorchSharp.TensorStringStyle.Julia)}, expected {expected.ToString(TorchSharp.TensorStringStyle.Julia)}");
        }
    }
}
