using System.Globalization;

namespace GppfActors.Actors.Devices;

/// <summary>
/// A device of a node: <c>cpu:K</c> (a virtual CPU device) or <c>cuda:K</c> (a GPU ordinal), and in a
/// cluster the node it is on (its Akka address, <c>host:port</c>), so devices of different nodes
/// with the same ordinal are distinct. Ranks are ordered by node, then kind, then ordinal, which
/// keeps the devices of one process contiguous (the hierarchical collectives rely on it).
/// </summary>
public sealed record DeviceId(string Kind, int Ordinal)
{
    /// <summary>The node (<c>host:port</c>); empty in a single-process run.</summary>
    public string Node { get; init; } = "";

    /// <summary>The device on its node, e.g. <c>cpu:1</c>, as <c>--devices</c> and fault injection name it.</summary>
    public string Local => $"{Kind}:{Ordinal}";

    public override string ToString() => Node.Length == 0 ? Local : $"{Local}@{Node}";

    /// <summary>The rank order of devices: node, kind, ordinal.</summary>
    public static IComparer<DeviceId> RankOrder { get; } = Comparer<DeviceId>.Create((a, b) =>
    {
        int byNode = string.CompareOrdinal(a.Node, b.Node);
        if (byNode != 0)
        {
            return byNode;
        }
        int byKind = string.CompareOrdinal(a.Kind, b.Kind);
        return byKind != 0 ? byKind : a.Ordinal.CompareTo(b.Ordinal);
    });

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
