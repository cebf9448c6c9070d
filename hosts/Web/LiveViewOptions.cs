using System.CommandLine;
using System.Globalization;
using GppfActors.ClusterConfig.Jobs;

namespace GppfActors.Host.Web;

/// <summary>The live view's command-line options (shared by <c>gppf train</c> and <c>gppf node</c>) and its start.</summary>
internal sealed class LiveViewOptions
{
    public Option<int?> Port { get; } = new("--web-port") { Description = "Serve the live view (a read-only web page of the run) on this port; 0 = off (overrides observability.web_port)" };

    public Option<string?> Host { get; } = new("--web-host") { Description = "Address the live view binds to (default 127.0.0.1; overrides observability.web_host)" };

    /// <summary>The options as <c>--set</c> overrides, so the job's validation checks them like any setting.</summary>
    public IEnumerable<string> Overrides(ParseResult parse)
    {
        if (parse.GetValue(Port) is { } port)
        {
            yield return $"observability.web_port={port.ToString(CultureInfo.InvariantCulture)}";
        }
        if (parse.GetValue(Host) is { } host)
        {
            yield return $"observability.web_host=\"{host}\"";
        }
    }

    /// <summary>What the page describes of a job.</summary>
    public static LiveJob Describe(JobConfig job, string node) =>
        new(job.Name, node, job.Train.MaxSteps, [.. job.Tasks.Select(t => t.Name)], job.BackboneConfig.NumLayers, job.Backbone.NumUnits);

    /// <summary>Starts the view when the job asks for one and prints its address once; throws <see cref="ArgumentException"/> when the address cannot be bound.</summary>
    public static async Task<LiveView?> StartAsync(JobConfig job, LiveState state, Action<string> say)
    {
        if (job.Observability.WebPort == 0)
        {
            return null;
        }
        var view = await LiveView.StartAsync(job.Observability.WebHost, job.Observability.WebPort, state);
        say($"live view: {view.Url}");
        return view;
    }
}
