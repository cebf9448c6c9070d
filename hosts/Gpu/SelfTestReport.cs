using System.Text.Json.Serialization;

namespace GppfActors.Host.Gpu;

/// <summary>How one self-test check ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckStatus>))]
internal enum CheckStatus
{
    Passed,
    Failed,

    /// <summary>Its precondition (CUDA, NCCL) is missing; counted as failed.</summary>
    NotRun,
}

/// <summary>One check: its name, how it ended, what it measured or why it failed, how long it took.</summary>
internal sealed record CheckResult(string Name, CheckStatus Status, string Detail, double Seconds);

/// <summary>The self-test's JSON report (<c>gpu-selftest.json</c>).</summary>
internal sealed record SelfTestReport(
    string Build,
    string LibTorch,
    bool CudaAvailable,
    int CudaDevices,
    IReadOnlyList<CheckResult> Checks)
{
    public int Passed => Checks.Count(c => c.Status == CheckStatus.Passed);

    public int Failed => Checks.Count - Passed;

    public int NotRun => Checks.Count(c => c.Status == CheckStatus.NotRun);

    /// <summary>The summary line: not-run checks count as failed.</summary>
    public string Summary => $"{Passed} passed, {Failed} failed";
}
