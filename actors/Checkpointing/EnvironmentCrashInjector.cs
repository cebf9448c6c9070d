using System.Globalization;
using System.Runtime.InteropServices;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Kills the current process with SIGKILL at the point named by <c>GPPF_CRASH_AT=&lt;point&gt;[@&lt;step&gt;]</c>,
/// so crash tests can stop a real training process at an exact moment of the commit protocol.
/// </summary>
/// <remarks>
/// SIGKILL rather than an exception or Environment.Exit: no finally block, flush or disposer runs,
/// which is what a power cut or the OOM killer does to the process, and what the on-disk protocol
/// has to survive.
/// </remarks>
public sealed class EnvironmentCrashInjector : ICrashInjector
{
    /// <summary>The environment variable read by <see cref="FromEnvironment"/>.</summary>
    public const string VariableName = "GPPF_CRASH_AT";

    private const int SignalKill = 9;

    /// <summary>Crashes at <paramref name="point"/> for <paramref name="step"/>, or for every step when it is null.</summary>
    public EnvironmentCrashInjector(string point, long? step)
    {
        if (!CrashPoints.All.Contains(point, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Unknown crash point '{point}'; known points: {string.Join(", ", CrashPoints.All)}", nameof(point));
        }
        Point = point;
        Step = step;
    }

    /// <summary>The point at which the process dies.</summary>
    public string Point { get; }

    /// <summary>The step whose checkpoint dies there; null for the first one to get there.</summary>
    public long? Step { get; }

    /// <summary>
    /// The injector <c>GPPF_CRASH_AT</c> asks for, or <see cref="NoCrashInjector"/> when it is unset
    /// or empty.
    /// </summary>
    /// <exception cref="ArgumentException">The variable is set but malformed: a crash test with a typo must fail, not pass by never crashing.</exception>
    public static ICrashInjector FromEnvironment() => Parse(Environment.GetEnvironmentVariable(VariableName));

    /// <summary>Parses a <c>&lt;point&gt;[@&lt;step&gt;]</c> value; null or empty means no crash.</summary>
    public static ICrashInjector Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return NoCrashInjector.Instance;
        }
        var parts = value.Trim().Split('@');
        if (parts.Length > 2)
        {
            throw new ArgumentException($"{VariableName}='{value}' is not <point>[@<step>]", nameof(value));
        }
        long? step = null;
        if (parts.Length == 2)
        {
            if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw new ArgumentException($"{VariableName}='{value}' has step '{parts[1]}', which is not a non-negative integer", nameof(value));
            }
            step = parsed;
        }
        return new EnvironmentCrashInjector(parts[0], step);
    }

    /// <summary>Whether reaching <paramref name="point"/> at <paramref name="step"/> kills the process.</summary>
    public bool Matches(string point, long step) => point == Point && (Step is null || Step == step);

    /// <inheritdoc />
    public void Hit(string point, long step)
    {
        if (!Matches(point, step))
        {
            return;
        }
        // stderr is unbuffered: the line reaches the parent even though nothing is flushed after it.
        Console.Error.WriteLine($"{VariableName}: killing process {Environment.ProcessId} at {point} of step {step}");
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            _ = Kill(GetProcessId(), SignalKill);
        }
        // Not reached on Linux or macOS. Elsewhere Process.Kill is the nearest thing to SIGKILL.
        System.Diagnostics.Process.GetCurrentProcess().Kill();
    }

    // DllImport, not LibraryImport: these signatures are blittable, so no marshalling code is
    // generated either way, and LibraryImport would require unsafe code in the whole project.
    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int processId, int signal);

    [DllImport("libc", EntryPoint = "getpid")]
    private static extern int GetProcessId();
}
