using System.Net;
using System.Net.Sockets;
using Akka;
using Akka.Actor;
using Akka.Http.Dsl;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Dsl;
using Ceen.Httpd;

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// Serves Akka.Management's HTTP endpoint and starts Cluster Bootstrap on a node started with
/// <c>--discovery</c> (with seed nodes the cluster joins them by itself and this does nothing).
/// </summary>
/// <remarks>
/// The endpoint serves Akka.Management's own routes (<see cref="AkkaManagement.Routes()"/>, which also
/// tell the bootstrap this node's contact point) through Akka.Http.Shim's router, but the listener is
/// opened here rather than by <c>AkkaManagement.Start</c>: Akka.Http.Shim 1.5.73 calls Ceen.Httpd
/// 0.9.9's <c>ListenAsync(IPEndPoint, ...)</c>, which 0.9.10 (the only version the package source
/// serves) replaced by <c>ListenAsync(EndPoint, ...)</c>, so <c>Start</c> fails with a missing method.
/// It is started explicitly, not through <c>akka.extensions</c> (whose failure only logs and
/// terminates the system), so that a port that is taken stops the start in one line naming the option.
/// </remarks>
public static class ClusterBootstrapStart
{
    /// <summary>How long starting the bootstrap may take (it only needs this node's own endpoint).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Serves the endpoint and starts looking for the other nodes; returns at once with seed nodes.</summary>
    public static void Run(ActorSystem system, ClusterOptions options)
    {
        if (options.Discovery is not { } discovery)
        {
            return;
        }
        var endpoint = new IPEndPoint(Address(options.ListenHost), discovery.ManagementPort);
        var stop = new CancellationTokenSource();
        Task server;
        try
        {
            var config = new ServerConfig { Router = new AkkaRouter(system, AkkaManagement.Get(system).Routes()) };
            server = HttpServer.ListenAsync(endpoint, false, config, stop.Token);
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"--management-port: cannot serve Akka.Management on {endpoint}: {e.Message}", e);
        }
        if (server.IsFaulted)
        {
            var cause = server.Exception.InnerException ?? server.Exception;
            throw new InvalidOperationException($"--management-port: cannot serve Akka.Management on {endpoint}: {cause.Message}", cause);
        }
        // Closed with the actor system, as AkkaManagement closes its own: before the node leaves the
        // cluster, so no other node is told about a member that is on its way out.
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeClusterShutdown, "gppf-management-endpoint", async () =>
        {
            await stop.CancelAsync();
            await Task.WhenAny(server, Task.Delay(TimeSpan.FromSeconds(5)));
            stop.Dispose();
            return Done.Instance;
        });
        if (!ClusterBootstrap.Get(system).Start().Wait(Timeout))
        {
            throw new TimeoutException($"--discovery {discovery.Method}: cluster bootstrap did not start within {Timeout.TotalSeconds} s");
        }
    }

    /// <summary>The --listen host as an address (a name is resolved to its first IPv4 address, as Akka.Http.Shim does).</summary>
    private static IPAddress Address(string host)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }
        try
        {
            return Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException)
        {
            throw new InvalidOperationException($"--listen: '{host}' does not resolve to an IPv4 address for the Akka.Management endpoint", e);
        }
    }
}
