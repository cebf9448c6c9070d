using System.CommandLine;
using GppfActors.Host.Gpu;

namespace GppfActors.Host.Commands;

/// <summary><c>gppf gpu-selftest</c>: checks the GPU path (LibTorch, CUDA, NCCL, a model step, training) on this machine and writes a JSON report.</summary>
internal static class GpuSelfTestCommand
{
    public const string Name = "gpu-selftest";

    public static Command Create()
    {
        var outOption = new Option<string>("--out") { Description = "Folder for gpu-selftest.json (created)", DefaultValueFactory = _ => "gpu-selftest" };
        var timeoutOption = new Option<double>("--timeout-seconds") { Description = "Time-out of the NCCL groups", DefaultValueFactory = _ => 30 };
        var benchOption = new Option<string?>("--pytorch-bench") { Description = "bench/pytorch/step_time.py: run it with python3 for the TorchSharp-vs-PyTorch step-time ratio" };
        var command = new Command(Name, "Check the GPU path on this machine: LibTorch, CUDA, NCCL, a step on cuda:0 against the CPU, training; prints 'N passed, M failed' and writes a JSON report")
        {
            outOption, timeoutOption, benchOption,
        };
        command.SetAction(parseResult =>
        {
            double timeout = parseResult.GetValue(timeoutOption);
            if (!(timeout > 0) || double.IsInfinity(timeout))
            {
                Console.Error.WriteLine($"gppf {Name}: --timeout-seconds must be positive (got {timeout})");
                return 2;
            }
            var options = new GpuSelfTestOptions(Path.GetFullPath(parseResult.GetValue(outOption)!), timeout,
                parseResult.GetValue<string>(TorchStartup.TorchLibOptionName),
                parseResult.GetValue(benchOption) is { } bench ? Path.GetFullPath(bench) : null);
            var report = GpuSelfTest.Run(options, check =>
                Console.WriteLine($"{(check.Status switch { CheckStatus.Passed => "PASS", CheckStatus.Failed => "FAIL", _ => "NOT RUN" }),-7} {check.Name}: {check.Detail}"));
            Console.WriteLine($"report: {Path.Combine(options.OutDir, GpuSelfTest.ReportFile)}");
            Console.WriteLine(report.Summary);
            if (!report.CudaAvailable)
            {
                Console.Error.WriteLine($"gppf {Name}: CUDA absent ({report.NotRun} check(s) not run): this self-test needs an NVIDIA GPU, its driver and a build made with -p:GppfTorch=system (or -p:GppfCuda=true)");
            }
            return report.Failed == 0 ? 0 : 1;
        });
        return command;
    }
}
