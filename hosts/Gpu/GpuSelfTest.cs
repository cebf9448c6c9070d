using System.Diagnostics;
using System.Text.Json;
using TorchSharp;

namespace GppfActors.Host.Gpu;

/// <summary>What <c>gppf gpu-selftest</c> was asked.</summary>
/// <param name="OutDir">Where the JSON report goes.</param>
/// <param name="TimeoutSeconds">The NCCL groups' time-out.</param>
/// <param name="TorchLib">The <c>--torch-lib</c> folder, if given (to find NCCL).</param>
/// <param name="PyTorchBench">bench/pytorch/step_time.py, for the TorchSharp-vs-PyTorch step-time ratio; null: that check is not run.</param>
internal sealed record GpuSelfTestOptions(string OutDir, double TimeoutSeconds, string? TorchLib, string? PyTorchBench = null);

/// <summary>
/// Runs every check of the GPU self-test in order, each on its own (a failure does not stop the
/// next), and writes <c>gpu-selftest.json</c>. Checks that need CUDA are reported as not run when
/// it is absent, and count as failed: the self-test passes only on a machine where all ran.
/// </summary>
internal static class GpuSelfTest
{
    public const string ReportFile = "gpu-selftest.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static SelfTestReport Run(GpuSelfTestOptions options, Action<CheckResult> progress)
    {
        var checks = new SelfTestChecks(options);
        (string Name, Func<string> Run)[] all =
        [
            ("build has the CUDA path", checks.BuildHasCudaPath),
            ("LibTorch loaded (system build: every wrapper import bound)", checks.LibTorchLoaded),
            ("CUDA found", checks.CudaFound),
            ("NCCL loaded", checks.NcclLoaded),
            ("NCCL all-reduce, broadcast, all-gather of known values", checks.NcclCollectives),
            ("NCCL watchdog aborts a communicator missing a rank, a new one works", checks.NcclAbortAndRecover),
            ("step on cuda:0 through a 1-rank NCCL group (SyncBN, task average) equals the CPU step", checks.CudaStepEqualsCpuStep),
            ("200 steps on cuda:0: the loss falls", checks.TrainingLossFalls),
            ("bf16 mixed precision on cuda:0 follows fp32 (first-step loss within 2 %, loss falls, fp32 parameters), step time vs fp32", checks.Bf16OnCuda),
            ("gppf train on the GPUs: device actors on CUDA, NCCL groups set up by the actors, checkpoints, identical replicas", checks.ActorsTrainOnCuda),
            ("step time cuda:0 vs CPU", checks.StepTimeGpuVsCpu),
            ("step time TorchSharp vs PyTorch eager on cuda:0 (goal <= 1.10)", checks.TorchSharpVsPyTorch),
        ];
        var results = new List<CheckResult>();
        foreach (var (name, run) in all)
        {
            var clock = Stopwatch.StartNew();
            CheckResult result;
            try
            {
                result = new CheckResult(name, CheckStatus.Passed, run(), clock.Elapsed.TotalSeconds);
            }
            catch (SelfTestChecks.Skip skip)
            {
                result = new CheckResult(name, CheckStatus.NotRun, $"not run: {skip.Message}", clock.Elapsed.TotalSeconds);
            }
            catch (Exception e)
            {
                result = new CheckResult(name, CheckStatus.Failed, e is SelfTestChecks.CheckFailed ? e.Message : $"{e.GetType().Name}: {e.Message}", clock.Elapsed.TotalSeconds);
            }
            results.Add(result);
            progress(result);
        }
        bool libtorch = TorchStartup.Failure is null;
        var report = new SelfTestReport(
            TorchStartup.BuildMode,
            libtorch ? torch.__version__ : $"not loaded: {TorchStartup.Failure}",
            libtorch && SelfTestChecks.CudaAvailable,
            libtorch && torch.cuda.is_available() ? torch.cuda.device_count() : 0,
            results);
        Directory.CreateDirectory(options.OutDir);
        File.WriteAllText(Path.Combine(options.OutDir, ReportFile), JsonSerializer.Serialize(report, Json));
        return report;
    }
}
