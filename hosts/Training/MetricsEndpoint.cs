using System.Net;
using GppfActors.Actors.Metrics;
using GppfActors.ClusterConfig.Jobs;
using Prometheus;

namespace GppfActors.Host.Training;

/// <summary>
/// A node's <c>/metrics</c> endpoint: prometheus-net's <see cref="MetricServer"/> (HttpListener, no
/// web framework) serving the node's own registry on <c>observability.metrics_host:metrics_port</c>.
/// </summary>
internal sealed class MetricsEndpoint : IDisposable
{
    private readonly MetricServer server;

    private MetricsEndpoint(MetricServer server, string url)
    {
        this.server = server;
        Url = url;
    }

    /// <summary>Where the metrics are served.</summary>
    public string Url { get; }

    /// <summary>
    /// Serves <paramref name="metrics"/> as the job says; null when <c>observability.metrics_port</c> is 0.
    /// A port that cannot be opened (taken, not allowed) throws an <see cref="ArgumentException"/> naming it and the key.
    /// </summary>
    public static MetricsEndpoint? Start(NodeMetrics metrics, ObservabilitySection settings)
    {
        if (settings.MetricsPort == 0)
        {
            return null;
        }
        var server = new MetricServer(settings.MetricsHost, settings.MetricsPort, "metrics/", metrics.Registry);
        try
        {
            server.Start();
        }
        catch (HttpListenerException e)
        {
            ((IDisposable)server).Dispose();
            throw new ArgumentException($"observability.metrics_port (--metrics-port): cannot serve metrics on {settings.MetricsHost}:{settings.MetricsPort}: {e.Message}", e);
        }
        return new MetricsEndpoint(server, $"http://{settings.MetricsHost}:{settings.MetricsPort}/metrics");
    }

    public void Dispose() => server.Stop();
}
