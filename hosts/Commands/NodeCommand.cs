using System.CommandLine;
using System.Threading.Channels;
using GppfActors.Actors.Metrics;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Node;
using GppfActors.Host.Logging;
using GppfActors.Host.Training;
using GppfActors.Host.Web;
using Serilog.Events;
using Spectre.Console;

namespace GppfActors.Host.Commands;

/// <summary>
/// <c>gppf node</c>: one process of a training cluster. Every node is started with the same job;
/// training starts once <c>--min-nodes</c> are up; the node that runs the coordinator (the oldest)
/// prints progress, writes TensorBoard files and commits checkpoints; every node prints one line
/// when a node joins, leaves or becomes unreachable, and exits when the job ends.
/// </summary>
internal static class NodeCommand
{
    public static Command Create()
    {
        var job = new Option<string>("--job") { Description = $"A preset ({string.Join(", ", JobConfigLoader.Presets)}) or a job JSON file", DefaultValueFactory = _ => "cpu-small" };
        var listen = new Option<string>("--listen") { Description = "HOST:PORT this node listens on and is reached at (loopback unless you name an address)", DefaultValueFactory = _ => "127.0.0.1:4053" };
        var seeds = new Option<string?>("--seeds") { Description = "Seed nodes, HOST:PORT[,HOST:PORT...] (the same list on every node; a node may list itself); or use --discovery" };
        var discovery = new Option<string?>("--discovery") { Description = "Form the cluster by Cluster Bootstrap instead of seeds: config (with --contact-points) or kubernetes" };
        var contactPoints = new Option<string?>("--contact-points") { Description = "With --discovery config: every machine's management endpoint, HOST:MGMTPORT[,...] (the same list on every node)" };
        var managementPort = new Option<int?>("--management-port") { Description = $"With --discovery: the Akka.Management HTTP port, served on the --listen host (default {ClusterDiscovery.DefaultManagementPort})" };
        var podLabelSelector = new Option<string?>("--pod-label-selector") { Description = $"With --discovery kubernetes: the pods of this cluster (default {KubernetesPodDiscovery.DefaultPodLabelSelector})" };
        var podNamespace = new Option<string?>("--pod-namespace") { Description = $"With --discovery kubernetes: where to look for them (default ${JoinArguments.PodNamespaceVariable}, else the pod's own)" };
        var managementPortName = new Option<string?>("--management-port-name") { Description = $"With --discovery kubernetes: the container port name of the management port (default {KubernetesPodDiscovery.DefaultManagementPortName})" };
        var devices = new Option<string?>("--devices") { Description = "This node's devices: cpu:K (overrides train.devices)" };
        var minNodes = new Option<int>("--min-nodes") { Description = "Nodes that must be up before training starts", DefaultValueFactory = _ => 1 };
        var minDevices = new Option<int>("--min-devices") { Description = "Devices the first step waits for (default: min-nodes x this node's devices)" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest committed checkpoint in the job's journal" };
        var discardMissing = new Option<bool>("--discard-missing") { Description = "With --resume: fall back past committed checkpoints whose folders are gone" };
        var set = new Option<string[]>("--set") { Description = "Override a job setting (the same on every node)", AllowMultipleArgumentsPerToken = false };
        var reportEvery = new Option<int>("--report-every") { Description = "Print a progress line every N steps", DefaultValueFactory = _ => 10 };
        var heartbeatPause = new Option<double?>("--failure-detection-seconds") { Description = "Tolerated heartbeat silence before a node is unreachable (default 3)" };
        var stableAfter = new Option<double?>("--stable-after-seconds") { Description = "Quiet time before the split-brain resolver downs unreachable nodes (default 5)" };
        var akkaConfig = new Option<string?>("--akka-config") { Description = "A HOCON file laid over the node's Akka settings (TLS for Akka.Remote, a public hostname)" };
        var logFormat = TrainCommand.LogFormatOption();
        var (metricsPort, metricsHost) = (TrainCommand.MetricsPortOption(), TrainCommand.MetricsHostOption());
        var command = new Command("node", "Run one node of a training cluster (Akka.Cluster; the coordinator runs on the oldest node)")
        {
            job, listen, seeds, discovery, contactPoints, managementPort, podLabelSelector, podNamespace, managementPortName,
            devices, minNodes, minDevices, resume, discardMissing, set, reportEvery, heartbeatPause, stableAfter, akkaConfig, logFormat, metricsPort, metricsHost,
        };
        var web = new LiveViewOptions();
        command.Options.Add(web.Port);
        command.Options.Add(web.Host);
        command.SetAction(async (parse, cancel) =>
        {
            ClusterOptions options;
            try
            {
                var (host, port) = ClusterOptions.ParseEndpoint(parse.GetValue(listen)!, "--listen");
                var defaults = new ClusterOptions(host, port, []);
                var join = new JoinArguments(parse.GetValue(seeds), parse.GetValue(discovery), parse.GetValue(contactPoints), parse.GetValue(managementPort),
                    parse.GetValue(podLabelSelector), parse.GetValue(podNamespace), parse.GetValue(managementPortName)).Resolve(Environment.GetEnvironmentVariable);
                options = new ClusterOptions(host, port, join.Seeds, parse.GetValue(minNodes))
                {
                    Discovery = join.Discovery,
                    MinDevices = parse.GetValue(minDevices),
                    AcceptableHeartbeatPauseSeconds = parse.GetValue(heartbeatPause) ?? defaults.AcceptableHeartbeatPauseSeconds,
                    StableAfterSeconds = parse.GetValue(stableAfter) ?? defaults.StableAfterSeconds,
                    AkkaConfigFile = parse.GetValue(akkaConfig),
                }.Validate();
            }
            catch (ArgumentException e)
            {
                using var refused = RunOutput.For(parse.GetValue(logFormat)!, AnsiConsole.Console, parse.GetValue(listen)!);
                refused.Line(LogEventLevel.Error, $"[red]cannot start:[/] {Markup.Escape(e.Message)}");
                return TrainCommand.CannotStart;
            }
            using var output = RunOutput.For(parse.GetValue(logFormat)!, AnsiConsole.Console, options.NodeName);
            return await RunAsync(output, parse.GetValue(job)!, options, new ResumeOptions(parse.GetValue(resume), parse.GetValue(discardMissing)),
                [.. parse.GetValue(set) ?? [], .. web.Overrides(parse), .. TrainCommand.CommandLineOverrides(parse.GetValue(devices), parse.GetValue(metricsPort), parse.GetValue(metricsHost))],
                parse.GetValue(reportEvery), cancel);
        });
        return command;
    }

    private static async Task<int> RunAsync(RunOutput output, string jobName, ClusterOptions cluster, ResumeOptions resume, string[] overrides, int reportEvery,
        CancellationToken cancel)
    {
        JobConfig job;
        string resolved;
        try
        {
            (job, resolved) = JobConfigLoader.Load(jobName, overrides);
        }
        catch (ArgumentException e)
        {
            output.Line(LogEventLevel.Error, $"[red]job configuration:[/] {Markup.Escape(e.Message)}");
            return TrainCommand.CannotStart;
        }
        output.Line(LogEventLevel.Information, $"[bold]gppf node[/] {Markup.Escape(cluster.NodeName)} job [bold]{Markup.Escape(job.Name)}[/]: devices {job.Train.Devices}, " +
            $"{Markup.Escape(cluster.DescribeJoin())}, min nodes {cluster.MinNodes}");

        // Every node may serve the page; only the coordinator's node has training to show, and the
        // others say so and list the members. Bound before joining, so a port in use refuses the start.
        var live = new LiveState(LiveViewOptions.Describe(job, cluster.NodeName), hostsTraining: false);
        LiveView? view;
        try
        {
            view = await LiveViewOptions.StartAsync(job, live, text => output.Line(LogEventLevel.Information, Markup.Escape(text)));
        }
        catch (ArgumentException e)
        {
            output.Line(LogEventLevel.Error, $"[red]cannot start:[/] {Markup.Escape(e.Message)}");
            return TrainCommand.CannotStart;
        }
        await using var served = view;

        NodeMetrics metrics;
        MetricsEndpoint? endpoint;
        try
        {
            (metrics, endpoint) = TrainCommand.StartMetrics(output, job, cluster.NodeName);
        }
        catch (ArgumentException e)
        {
            return TrainCommand.CannotStartWith(output, e);
        }
        using var metricsServed = endpoint;
        var events = Channel.CreateUnbounded<object>();
        ClusterNode node;
        try
        {
            node = await ClusterNode.StartAsync(job, resolved, cluster, resume, e => events.Writer.TryWrite(e), line => events.Writer.TryWrite(new LogLine(line)), output.Loggers, metrics);
        }
        catch (Exception e)
        {
            return TrainCommand.CannotStartWith(output, e);
        }
        live.ReadMembersFrom(LiveMembers.Of(node.System));
        await using (node)
        {
            output.Attach(node.System);
            // The start step is known only on the coordinator's node; the view counts from 0 elsewhere.
            using var run = new RunConsole(output, job, 0, reportEvery);
            _ = node.Completion.ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);
            JobEnded? ended = null;
            try
            {
                await foreach (var e in events.Reader.ReadAllAsync(cancel))
                {
                    metrics.Observe(e);
                    run.Show(e);
                    live.Apply(e);
                    ended = e as JobEnded ?? ended;
                    if (e is NodeRemoved)
                    {
                        return TrainCommand.Failed;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                output.Line(LogEventLevel.Warning, "[yellow]interrupted; this node leaves the cluster[/]");
                return 130;
            }
            if (ended is null || !ended.Succeeded || run.Failed is not null)
            {
                return TrainCommand.Failed;
            }
            return run.Finished is { EvaluationFailures.Count: > 0 } ? TrainCommand.Failed : 0;
        }
    }
}
