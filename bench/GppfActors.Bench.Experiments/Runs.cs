using System.Diagnostics;
using System.Text.Json;

namespace GppfActors.Bench.Experiments;

/// <summary>One run's outcome: its table, configuration, seed, metrics per task (after <c>gppf eval</c> on the whole val split), wall time, or why it failed.</summary>
internal sealed record RunResult(string Table, string Configuration, ulong Seed, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Metrics,
    double Seconds, string? Failure);

/// <summary>Runs gppf as a process (<c>dotnet gppf.dll ...</c>), its output kept in a log file per run.</summary>
internal sealed class GppfRunner(string gppf, string workingDirectory, string logs)
{
    /// <summary>Runs to the end; returns the exit code, the seconds it took and the log's last lines.</summary>
    public (int ExitCode, double Seconds, string Tail) Run(string name, IEnumerable<string> arguments)
    {
        Directory.CreateDirectory(logs);
        var info = new ProcessStartInfo(Testing.BuiltPrograms.DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(gppf);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {gppf}");
        var lines = new List<string>();
        var gate = new object();
        void Keep(string? line)
        {
            if (line is not null)
            {
                lock (gate)
                {
                    lines.Add(line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        double seconds = clock.Elapsed.TotalSeconds;
        lock (gate)
        {
            File.WriteAllLines(Path.Combine(logs, $"{name}.log"), [$"$ gppf {string.Join(' ', info.ArgumentList.Skip(1))}", .. lines]);
            return (process.ExitCode, seconds, string.Join('\n', lines.TakeLast(6)));
        }
    }

    /// <summary>Every task's metrics on the whole val split of <paramref name="run"/>'s newest checkpoint.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Evaluate(string name, string run)
    {
        string json = Path.Combine(logs, $"{name}.eval.json");
        var (code, _, tail) = Run($"{name}.eval", ["eval", run, "--json", json]);
        if (code != 0)
        {
            throw new InvalidOperationException($"gppf eval {run} exited with {code}: {tail}");
        }
        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var tasks = new Dictionary<string, IReadOnlyDictionary<string, double>>();
        foreach (var task in report.RootElement.GetProperty("tasks").EnumerateObject())
        {
            tasks[task.Name] = task.Value.GetProperty("metrics").EnumerateObject().ToDictionary(m => m.Name, m => m.Value.GetDouble());
        }
        return tasks;
    }
}
