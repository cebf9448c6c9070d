using System.Net;
using System.Net.Sockets;

namespace GppfActors.Testing;

/// <summary>Free TCP ports on 127.0.0.1 (the kernel's choice; free when asked, not reserved).</summary>
public static class LoopbackPorts
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary><paramref name="count"/> distinct free ports, lowest first.</summary>
    public static int[] Ascending(int count)
    {
        var ports = new SortedSet<int>();
        while (ports.Count < count)
        {
            ports.Add(Free());
        }
        return [.. ports];
    }
}
