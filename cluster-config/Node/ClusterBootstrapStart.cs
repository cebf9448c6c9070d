using System.Collections.Concurrent;
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
/// tell the bootstrap this node's contact point) through Akka.Http.Shim's router and Ceen.Httpd's
/// request handling, but the listener is opened here rather than by <c>AkkaManagement.Start</c>:
/// Akka.Http.Shim 1.5.73 calls Ceen.Httpd 0.9.9's <c>ListenAsync(IPEndPoint, ...)</c>, which 0.9.10
/// (the only version the package source serves) replaced by <c>ListenAsync(EndPoint, ...)</c>, so
/// <c>Start</c> fails with a missing method; and Ceen's own listener would not reuse the address.
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
        // SO_REUSEADDR, as Akka.Remote's own listener has: a node restarted on the same machine (a
        // replacement, a resume) must not wait a minute for the dead one's connections to time out.
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            listener.Bind(endpoint);
            listener.Listen();
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new InvalidOperationException($"--management-port: cannot serve Akka.Management on {endpoint}: {e.Message}", e);
        }
        var routes = new ServerConfig { Router = new AkkaRouter(system, AkkaManagement.Get(system).Routes()), Storage = new MemoryStorageCreator() };
        var http = new HttpServer.InterProcessBridge(false, routes);
        var stop = new CancellationTokenSource();
        var serving = Serve(listener, http, stop.Token);
        // Closed with the actor system, as AkkaManagement closes its own: before the node leaves the
        // cluster, so no other node is told about a member that is on its way out.
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeClusterShutdown, "gppf-management-endpoint", async () =>
        {
            await stop.CancelAsync();
            await serving;
            stop.Dispose();
            return Done.Instance;
        });
        if (!ClusterBootstrap.Get(system).Start().Wait(Timeout))
        {
            throw new TimeoutException($"--discovery {discovery.Method}: cluster bootstrap did not start within {Timeout.TotalSeconds} s");
        }
    }

    /// <summary>
    /// Accepts connections until stopped and hands each to Ceen's HTTP handling of Akka.Management's
    /// routes; when stopped, closes the connections still open (probers keep theirs alive), so
    /// nothing of the endpoint outlives the actor system.
    /// </summary>
    private static async Task Serve(Socket listener, HttpServer.InterProcessBridge http, CancellationToken stop)
    {
        var open = new ConcurrentDictionary<Socket, bool>();
        using (listener)
        {
            while (!stop.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptAsync(stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (SocketException)
                {
                    continue; // a connection that was reset before it was accepted
                }
                open[client] = true;
                _ = Answer(client, http, open);
            }
        }
        http.Stop();
        foreach (var client in open.Keys)
        {
            client.Dispose();
        }
    }

    private static async Task Answer(Socket client, HttpServer.InterProcessBridge http, ConcurrentDictionary<Socket, bool> open)
    {
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: false);
            await http.HandleRequestAsync(stream, client.RemoteEndPoint!, "management", () => client.Connected);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The prober hung up, or the endpoint is closing; a prober asks again at its next interval.
        }
        finally
        {
            open.TryRemove(client, out _);
            client.Dispose();
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
