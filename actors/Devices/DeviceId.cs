using System.Globalization;

namespace GppfActors.Actors.Devices;

/// <summary>A device of a node: <c>cpu:K</c> (a virtual CPU device) or <c>cuda:K</c> (a GPU ordinal).</summary>
public sealed record DeviceId(string Kind, int Ordinal)
{
    public override string ToString() => $"{Kind}:{Ordinal}";

    /// <summary>
    /// Parses a device list: <c>cpu:4</c> means four virtual CPU devices cpu:0..cpu:3; <c>cuda:0,1</c>
    /// means those GPU ordinals; <c>cuda</c> means every visible GPU (the caller passes the count).
    /// </summary>
    public static IReadOnlyList<DeviceId> ParseList(string spec, int visibleGpus = 0)
    {
        var parts = spec.Split(':', 2);
        string kind = parts[0].Trim().ToLowerInvariant();
        if (kind == "cpu")
        {
            if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1 || count > 256)
            {
                throw new ArgumentException($"--devices: '{spec}' is not valid; use cpu:K with K in [1, 256] virtual devices");
            }
            return Enumerable.Range(0, count).Select(i => new DeviceId("cpu", i)).ToArray();
        }
        if (kind == "cuda")
        {
            if (parts.Length == 1)
            {
                return visibleGpus > 0
                    ? Enumerable.Range(0, visibleGpus).Select(i => new DeviceId("cuda", i)).ToArray()
                    : throw new ArgumentException("--devices: 'cuda' asks for every GPU, but none is visible");
            }
            var ordinals = parts[1].Split(',').Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int o) ? o
                : throw new ArgumentException($"--devices: '{p}' in '{spec}' is not a GPU ordinal")).ToArray();
            return ordinals.Select(o => new DeviceId("cuda", o)).ToArray();
        }
        throw new ArgumentException($"--devices: unknown device kind '{parts[0]}' in '{spec}' (allowed: cpu:K, cuda, cuda:i,j)");
    }
}
