using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using GppfActors.Testing;

namespace GppfActors.Collectives.Tests.Support;

/// <summary>A ring member in its own OS process (tests/GppfActors.Collectives.RingMember), driven over its standard streams.</summary>
internal sealed class RingMemberProcess : IDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];

    private RingMemberProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.CompleteAdding();
            }
            else
            {
                _lines.Add(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Endpoint = WaitForLine("endpoint ", TimeSpan.FromSeconds(60))["endpoint ".Length..];
    }

    public string Endpoint { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the helper as process <paramref name="processId"/> and waits for its endpoint.</summary>
    public static RingMemberProcess Start(string processId, params string[] scenario)
    {
        var start = new ProcessStartInfo(BuiltPrograms.DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(BuiltPrograms.Find(typeof(RingMemberProcess).Assembly, "RingMemberAssembly"));
        start.ArgumentList.Add(processId);
        foreach (var a in scenario)
        {
            start.ArgumentList.Add(a);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("the ring member did not start");
        process.ErrorDataReceived += (_, _) => { };
        return new RingMemberProcess(process);
    }

    public void SendSpec(GroupSpec spec)
    {
        _process.StandardInput.WriteLine(JsonSerializer.Serialize(spec));
        _process.StandardInput.Flush();
    }

    /// <summary>The next output line starting with <paramref name="prefix"/> (earlier lines are skipped); throws when none comes in time.</summary>
    public string WaitForLine(string prefix, TimeSpan limit)
    {
        long until = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (true)
        {
            long left = until - Environment.TickCount64;
            if (left <= 0 || !_lines.TryTake(out var line, TimeSpan.FromMilliseconds(left)))
            {
                throw new TimeoutException($"the ring member printed no line starting with '{prefix}' within {limit.TotalSeconds} s");
            }
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }
    }

    /// <summary>The first line that starts with one of <paramref name="prefixes"/>.</summary>
    public string WaitForAnyLine(TimeSpan limit, params string[] prefixes)
    {
        long until = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (true)
        {
            long left = until - Environment.TickCount64;
            if (left <= 0 || !_lines.TryTake(out var line, TimeSpan.FromMilliseconds(left)))
            {
                throw new TimeoutException($"the ring member printed none of '{string.Join("', '", prefixes)}' within {limit.TotalSeconds} s");
            }
            if (prefixes.Any(p => line.StartsWith(p, StringComparison.Ordinal)))
            {
                return line;
            }
        }
    }

    /// <summary>SIGKILL on Unix: the process gets no chance to close its sockets itself.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public bool WaitForExit(TimeSpan limit) => _process.WaitForExit(limit);

    public int ExitCode => _process.ExitCode;

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
        _lines.Dispose();
    }
}
