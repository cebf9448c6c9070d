using System.Diagnostics;
using GppfActors.Testing;

namespace GppfActors.Host.Tests;

/// <summary>Runs the built gppf program as a real process and collects its exit code and output.</summary>
public static class GppfProcess
{
    public sealed record Result(int ExitCode, string Output)
    {
        /// <summary>True when the process was killed by SIGKILL (kill -9).</summary>
        public bool KilledBySigkill => ExitCode == 137 || ExitCode == -1;
    }

    public static Result Run(string workingDirectory, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, double timeoutSeconds = 240)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HostAssembly());
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["NO_COLOR"] = "1";
        start.Environment.Remove("GPPF_CRASH_AT");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"gppf {string.Join(' ', arguments)} did not finish within {timeoutSeconds} s:\n{output.Result}{errors.Result}");
        }
        return new Result(process.ExitCode, output.Result + errors.Result);
    }

    private static string HostAssembly() => BuiltPrograms.Find(typeof(GppfProcess).Assembly, "GppfHostAssembly");

    private static string DotnetHost() => BuiltPrograms.DotnetHost();
}
