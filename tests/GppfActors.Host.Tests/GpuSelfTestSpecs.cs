using System.Text.Json;
using GppfActors.Host.Gpu;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Host.Tests;

/// <summary>
/// `gppf gpu-selftest` on this CPU build (no GPU here): it must run every check, say plainly that
/// CUDA is absent, count what did not run as failed, write the report and exit non-zero.
/// </summary>
public sealed class GpuSelfTestSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("gppf-selftest-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Should_report_cuda_absent_and_exit_non_zero_with_a_json_report_when_run_on_a_cpu_build()
    {
        string outDir = Path.Combine(_root, "report");
        var run = GppfProcess.Run(_root, ["gpu-selftest", "--out", outDir], timeoutSeconds: 120);

        Assert.True(run.ExitCode == 1, run.Output);
        Assert.Contains("CUDA absent", run.Output);
        Assert.Contains("-p:GppfTorch=system", run.Output);

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "gpu-selftest.json")));
        var root = report.RootElement;
        Assert.Equal("cpu", root.GetProperty("build").GetString());
        Assert.False(root.GetProperty("cuda_available").GetBoolean());
        var checks = root.GetProperty("checks").EnumerateArray().ToList();
        int passed = checks.Count(c => c.GetProperty("status").GetString() == "Passed");
        int notRun = checks.Count(c => c.GetProperty("status").GetString() == "NotRun");
        // LibTorch (TorchSharp-cpu's) is there; the build check and CUDA fail; everything on a GPU did not run.
        Assert.Equal(1, passed);
        Assert.True(notRun >= 6, run.Output);
        Assert.All(checks.Where(c => c.GetProperty("status").GetString() == "NotRun"),
            c => Assert.Equal("not run: CUDA absent", c.GetProperty("detail").GetString()));
        Assert.Contains($"{passed} passed, {checks.Count - passed} failed", run.Output.Split('\n').Select(l => l.Trim()));
    }

    [Fact]
    public void Should_pass_the_training_checks_of_the_self_test_when_their_steps_run_on_the_cpu()
    {
        // The checks' own logic (steps, thresholds, figures) on the CPU's in-process group, so that
        // a GPU run fails only for what the GPU does differently.
        string falls = SelfTestChecks.LossFalls(CPU, null);
        Assert.Contains("ms per step", falls);
        string bf16 = SelfTestChecks.Bf16FollowsFp32(CPU, null);
        Assert.Contains("ratio", bf16);
    }

    [Theory]
    [InlineData(true, "gpu-selftest", "--out", "x")]
    [InlineData(true, "--torch-lib", "/opt/torch/lib", "gpu-selftest")]
    [InlineData(true, "--torch-lib=/opt/torch/lib", "gpu-selftest")]
    [InlineData(true, "--help")]
    [InlineData(true)]
    [InlineData(false, "train", "--job", "cpu-small")]
    [InlineData(false, "--torch-lib", "gpu-selftest", "train")]
    public void Should_let_only_the_self_test_and_help_run_without_libtorch(bool expected, params string[] args) =>
        Assert.Equal(expected, Commands.CommandTable.RunsWithoutLibTorch(args));

    [Fact]
    public void Should_refuse_torch_lib_naming_the_build_switch_when_the_build_brings_its_own_libtorch()
    {
        var run = GppfProcess.Run(_root, ["version", "--torch-lib", _root], timeoutSeconds: 60);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--torch-lib", run.Output);
        Assert.Contains("-p:GppfTorch=system", run.Output);
    }

    [Theory]
    [InlineData("cuda:0")]
    [InlineData("cuda")]
    public void Should_refuse_cuda_devices_naming_the_gpu_build_switches_when_the_build_is_the_cpu_one(string devices)
    {
        // The job is refused before any data is read, so no data set is needed.
        var run = GppfProcess.Run(_root, ["train", "--job", "cpu-small", "--devices", devices,
            "--set", $"data.root={_root}", "--set", "data.generate_if_missing=false", "--set", $"checkpoint.dir={Path.Combine(_root, "run")}"], timeoutSeconds: 120);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains($"'{devices}'", run.Output);
        Assert.Contains("-p:GppfTorch=system", run.Output);
    }

    [Fact]
    public void Should_train_the_self_tests_network_on_the_cpu_reproducibly_with_a_falling_loss()
    {
        // The training the GPU checks run on cuda:0, here on the CPU: it must train and replay
        // exactly (what the cuda:0-vs-CPU check compares against), and another seed must differ.
        // One libtorch thread, as the self-test's CPU reference uses: with two, two runs of this
        // network in one process differed after one step (see SelfTestChecks.CudaStepEqualsCpuStep).
        int threads = get_num_threads();
        set_num_threads(1);
        SelfTestTraining.Result first, second, other;
        try
        {
            first = SelfTestTraining.Run(CPU, null, steps: 40, seed: 5);
            second = SelfTestTraining.Run(CPU, null, steps: 40, seed: 5);
            other = SelfTestTraining.Run(CPU, null, steps: 3, seed: 6);
        }
        finally
        {
            set_num_threads(threads);
        }
        Assert.Equal(first.Losses, second.Losses);
        Assert.Equal(0, SelfTestTraining.MaxRelativeGap(first.State, second.State));
        Assert.True(SelfTestTraining.MaxRelativeGap(other.State, first.State) > 1e-2, "a different seed gave the same network");
        Assert.True(first.Losses.Skip(30).Average() < 0.8 * first.Losses.Take(10).Average(), string.Join(", ", first.Losses.Select(l => l.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));
    }
}
