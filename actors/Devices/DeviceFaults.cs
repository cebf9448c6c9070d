namespace GppfActors.Actors.Devices;

/// <summary>
/// Fault injection for device actors: <c>GPPF_FAULT_AT=&lt;device&gt;@&lt;step&gt;[,...]</c> (e.g.
/// <c>cpu:1@25</c>) makes that device throw once when asked to run that step, as a crashing device
/// would, so failure handling can be exercised on a real run. Each entry fires once per process.
/// </summary>
public sealed class DeviceFaults
{
    /// <summary>The environment variable read by <see cref="FromEnvironment"/>.</summary>
    public const string VariableName = "GPPF_FAULT_AT";

    private readonly HashSet<(string Device, long Step)> pending;

    public DeviceFaults(IEnumerable<(string Device, long Step)> faults) => pending = [.. faults];

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
        var faults = new List<(string, long)>();
        foreach (var entry in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int at = entry.LastIndexOf('@');
            if (at <= 0 || !long.TryParse(entry[(at + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long step))
            {
                throw new ArgumentException($"{VariableName}: '{entry}' is not <device>@<step>, e.g. cpu:1@25");
            }
            faults.Add((entry[..at], step));
        }
        return new DeviceFaults(faults);
    }

    /// <summary>True once for each configured (device, step).</summary>
    public bool ShouldFail(DeviceId device, long step)
    {
        lock (pending)
        {
            return pending.Remove((device.ToString(), step));
        }
    }
}

/// <summary>The failure a device raises when <see cref="DeviceFaults"/> tells it to.</summary>
public sealed class InjectedDeviceFaultException(DeviceId device, long step)
    : Exception($"injected fault: {device} failed at step {step} ({DeviceFaults.VariableName})");
