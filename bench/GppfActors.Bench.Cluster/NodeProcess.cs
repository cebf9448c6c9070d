using System.Diagnostics;
using GppfActors.Testing;

namespace GppfActors.Bench.Cluster;

/// <summary>One gppf process whose output lines are kept with the time each arrived.</summary>
internal sealed class NodeProcess : IDisposable
{
    private readonly Process process;
    private readonly List<(TimeSpan At, string Line)> lines = [];
    private readonly Stopwatch clock;

    public NodeProcess(string gppf, string workingDirectory, IEnumerable<string> arguments, Stopwatch clock)
    {
        this.clock = clock;
        var start = new ProcessStartInfo(BuiltPrograms.DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(gppf);
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["NO_COLOR"] = "1";
        process = Process.Start(start) ?? throw new InvalidOperationException("gppf did not start");
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public string Output
    {
        get
        {
            lock (lines)
            {
                return string.Join('\n', lines.Select(l => l.Line));
            }
        }
    }

    /// <summary>When the first line after <paramref name="after"/> that satisfies <paramref name="match"/> arrived, waiting up to <paramref name="timeoutSeconds"/>.</summary>
    public TimeSpan? WaitForLine(Func<string, bool> match, TimeSpan after, double timeoutSeconds)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed.TotalSeconds < timeoutSeconds)
        {
            lock (lines)
            {
                foreach (var (at, line) in lines)
                {
                    if (at >= after && match(line))
                    {
                        return at;
                    }
                }
            }
            if (process.HasExited)
            {
                return null;
            }
            Thread.Sleep(10);
        }
        return null;
    }

    /// <summary>The exit code, once the process ended within <paramref name="timeoutSeconds"/>.</summary>
    public int WaitForExit(double timeoutSeconds)
    {
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            throw new TimeoutException($"gppf did not finish within {timeoutSeconds} s:\n{Output}");
        }
        process.WaitForExit();
        return process.ExitCode;
    }

    public void KillHard() => Signals.Kill(process.Id);

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        process.WaitForExit();
        process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (lines)
        {
            lines.Add((clock.Elapsed, line));
        }
    }
}
