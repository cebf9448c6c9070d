using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace GppfActors.Collectives;

/// <summary>"host:port" as specs carry it ("[::1]:5000" for IPv6 literals).</summary>
internal static class EndpointText
{
    public static string Format(string host, int port) =>
        (host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + ":" + port.ToString(CultureInfo.InvariantCulture);

    public static (string Host, int Port) Parse(string endpoint)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"endpoint '{endpoint}' is not host:port");
        }
        return (endpoint[..colon].Trim('[', ']'), port);
    }

    public static IPEndPoint Resolve(string endpoint)
    {
        var (host, port) = Parse(endpoint);
        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }
        var addresses = Dns.GetHostAddresses(host);
        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
        return new IPEndPoint(chosen, port);
    }
}
