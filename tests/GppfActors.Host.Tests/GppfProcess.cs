using System.Diagnostics;
using System.Text;
using GppfActors.Testing;

namespace GppfActors.Host.Tests;

/// <summary>Runs the built gppf program as a real process and collects its exit code and output.</summary>
public sealed class GppfProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly Task reading;

    private GppfProcess(Process process)
    {
        this.process = process;
        reading = Task.WhenAll(Pump(process.StandardOutput), Pump(process.StandardError));
    }

    /// <summary>What a finished process left.</summary>
    public sealed record Result(int ExitCode, string Output)
    {
        /// <summary>True when the process was killed by SIGKILL (kill -9): 128 + 9, as .NET reports a signal death on Linux.</summary>
        public bool KilledBySigkill => ExitCode == 137;
    }

    /// <summary>The process id.</summary>
    public int Id => process.Id;

    /// <summary>Everything the process wrote so far (stdout and stderr, interleaved as read).</summary>
    public string OutputSoFar
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    /// <summary>Starts gppf with <paramref name="arguments"/>; the caller waits, kills or disposes it.</summary>
    public static GppfProcess Start(string workingDirectory, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(BuiltPrograms.DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(BuiltPrograms.Find(typeof(GppfProcess).Assembly, "GppfHostAssembly"));
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["NO_COLOR"] = "1";
        start.Environment.Remove("GPPF_CRASH_AT");
        start.Environment.Remove("GPPF_FAULT_AT");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }
        return new GppfProcess(Process.Start(start)!);
    }

    /// <summary>
    /// Runs gppf to its end in a pseudo-terminal of <paramref name="columns"/> columns (util-linux
    /// <c>script</c>), as a person at a terminal would: its standard output is a terminal, not a pipe.
    /// The output is what the terminal received, escape sequences included.
    /// </summary>
    public static Result RunInTerminal(string workingDirectory, IEnumerable<string> arguments, int columns, double timeoutSeconds = 240)
    {
        static string Quoted(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        string command = $"stty cols {columns} rows 50; exec " +
            string.Join(' ', new[] { BuiltPrograms.DotnetHost(), BuiltPrograms.Find(typeof(GppfProcess).Assembly, "GppfHostAssembly") }.Concat(arguments).Select(Quoted));
        var start = new ProcessStartInfo("script")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--quiet", "--return", "--command", command, "/dev/null" })
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["TERM"] = "xterm-256color";
        start.Environment["NO_COLOR"] = "1";
        start.Environment.Remove("GPPF_CRASH_AT");
        start.Environment.Remove("GPPF_FAULT_AT");
        using var process = new GppfProcess(Process.Start(start)!);
        return process.WaitForExit(timeoutSeconds);
    }

    /// <summary>Runs gppf to its end (or throws after <paramref name="timeoutSeconds"/>).</summary>
    public static Result Run(string workingDirectory, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, double timeoutSeconds = 240)
    {
        using var process = Start(workingDirectory, arguments, environment);
        return process.WaitForExit(timeoutSeconds);
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; false when the process ended or the time ran out first.</summary>
    public bool WaitForOutput(string text, double timeoutSeconds) =>
        WaitFor(output => output.Contains(text, StringComparison.Ordinal), timeoutSeconds);

    /// <summary>Waits until the output matches <paramref name="pattern"/>; false when the process ended or the time ran out first.</summary>
    public bool WaitForMatch(System.Text.RegularExpressions.Regex pattern, double timeoutSeconds) =>
        WaitFor(pattern.IsMatch, timeoutSeconds);

    private bool WaitFor(Func<string, bool> condition, double timeoutSeconds)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed.TotalSeconds < timeoutSeconds)
        {
            if (condition(OutputSoFar))
            {
                return true;
            }
            if (process.WaitForExit(20))
            {
                reading.Wait(TimeSpan.FromSeconds(10));
                return condition(OutputSoFar);
            }
        }
        return false;
    }

    /// <summary>Freezes the process (SIGSTOP), as a long pause or a network blip would look to its peers.</summary>
    public void Freeze() => Signals.Stop(process.Id);

    /// <summary>Lets a frozen process run on (SIGCONT).</summary>
    public void Thaw() => Signals.Continue(process.Id);

    /// <summary>Kills the process with SIGKILL, as an outside fault would.</summary>
    public void KillHard() => Signals.Kill(process.Id);

    public Result WaitForExit(double timeoutSeconds)
    {
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"gppf did not finish within {timeoutSeconds} s:\n{OutputSoFar}");
        }
        reading.Wait(TimeSpan.FromSeconds(30));
        return new Result(process.ExitCode, OutputSoFar);
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        process.Dispose();
    }

    private async Task Pump(StreamReader reader)
    {
        var buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
        {
            lock (output)
            {
                output.Append(buffer, 0, n);
            }
        }
    }
}
