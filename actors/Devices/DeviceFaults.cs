using System.Globalization;
using GppfActors.Model.Training;

namespace GppfActors.Actors.Devices;

/// <summary>
/// Fault injection for device actors: <c>GPPF_FAULT_AT=&lt;device&gt;@&lt;step&gt;[:&lt;phase&gt;][,...]</c>
/// (e.g. <c>cpu:1@25</c> or <c>cpu:1@25:in-backward</c>) makes that device throw once when it runs
/// that step, as a crashing device would: at the top of the step (the default, <c>start</c>), or in
/// the middle of it (<c>after-forward</c>, <c>in-backward</c> at the first SyncBN backward collective,
/// <c>after-fusion</c>), so failure handling is exercised while peers are inside collectives. Each
/// entry fires once per process.
/// </summary>
public sealed class DeviceFaults
{
    /// <summary>The environment variable read by <see cref="FromEnvironment"/>.</summary>
    public const string VariableName = "GPPF_FAULT_AT";

    private static readonly Dictionary<string, StepPhase?> Phases = new(StringComparer.Ordinal)
    {
        ["start"] = null,
        ["after-forward"] = StepPhase.AfterForward,
        ["in-backward"] = StepPhase.InBackward,
        ["after-fusion"] = StepPhase.AfterFusion,
    };

    private readonly Dictionary<(string Device, long Step), StepPhase?> pending;

    public DeviceFaults(IEnumerable<(string Device, long Step, StepPhase? Phase)> faults) =>
        pending = faults.ToDictionary(f => (f.Device, f.Step), f => f.Phase);

    /// <summary>No faults.</summary>
    public static DeviceFaults None { get; } = new([]);

    /// <summary>Parses <see cref="VariableName"/>; an unparsable value is an error, not a fault that silently never fires.</summary>
    public static DeviceFaults FromEnvironment() => Parse(Environment.GetEnvironmentVariable(VariableName));

    public static DeviceFaults Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return None;
        }
        var faults = new List<(string, long, StepPhase?)>();
        foreach (var entry in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int at = entry.LastIndexOf('@');
            string[] rest = at > 0 ? entry[(at + 1)..].Split(':', 2) : [];
            if (at <= 0 || !long.TryParse(rest[0], NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            {
                throw new ArgumentException($"{VariableName}: '{entry}' is not <device>@<step>[:<phase>], e.g. cpu:1@25 or cpu:1@25:in-backward");
            }
            string phaseName = rest.Length == 2 ? rest[1] : "start";
            if (!Phases.TryGetValue(phaseName, out var phase))
            {
                throw new ArgumentException($"{VariableName}: '{entry}': unknown phase '{phaseName}' (known: {string.Join(", ", Phases.Keys)})");
            }
            faults.Add((entry[..at], step, phase));
        }
        return new DeviceFaults(faults);
    }

    /// <summary>
    /// Whether <paramref name="device"/> fails in <paramref name="step"/>; once per configured entry.
    /// <paramref name="phase"/> is null for a fault at the top of the step.
    /// </summary>
    public bool TryTake(DeviceId device, long step, out StepPhase? phase)
    {
        lock (pending)
        {
            return pending.Remove((device.Local, step), out phase);
        }
    }
}

/// <summary>The failure a device raises when <see cref="DeviceFaults"/> tells it to.</summary>
public sealed class InjectedDeviceFaultException(DeviceId device, long step, string where)
    : Exception($"injected fault: {device} failed at step {step} ({where}, {DeviceFaults.VariableName})");
