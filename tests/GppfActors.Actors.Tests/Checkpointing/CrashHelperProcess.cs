using System.Diagnostics;
using System.Text;
using GppfActors.Testing;

namespace GppfActors.Actors.Tests.Checkpointing;

/// <summary>Runs the crash helper program (tests/GppfActors.Actors.CrashHelper) as a child process.</summary>
internal static class CrashHelperProcess
{
    /// <summary>What the child left: its exit code and its output.</summary>
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    /// <summary>Runs the helper to write <paramref name="numSteps"/> checkpoints under <paramref name="root"/> with GPPF_CRASH_AT=<paramref name="crashAt"/>.</summary>
    public static async Task<Result> RunAsync(string root, int numSteps, string crashAt, TimeSpan timeout, string? journal = null)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HelperAssembly());
        start.ArgumentList.Add(root);
        start.ArgumentList.Add(numSteps.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (journal is not null)
        {
            start.ArgumentList.Add("--journal");
            start.ArgumentList.Add(journal);
        }
        start.Environment["GPPF_CRASH_AT"] = crashAt;

        using var process = Process.Start(start) ?? throw new InvalidOperationException("The crash helper did not start");
        var output = new StringBuilder();
        var errors = new StringBuilder();
        var readOutput = process.StandardOutput.ReadToEndAsync();
        var readErrors = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The crash helper did not exit within {timeout}");
        }
        return new Result(process.ExitCode, await readOutput, await readErrors);
    }

    private static string HelperAssembly() => BuiltPrograms.Find(typeof(CrashHelperProcess).Assembly, "CrashHelperAssembly");

    private static string DotnetHost() => BuiltPrograms.DotnetHost();
}
