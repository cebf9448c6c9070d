using System.Diagnostics;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Node;

namespace GppfActors.Host.Web;

/// <summary>
/// What the live view shows, fed by the same events the console prints (one writer, the host's
/// event loop) and read as snapshots by the web server's threads. Every history is bounded: the
/// last <see cref="MaxLossPoints"/> losses per task, the last <see cref="MaxEvents"/> events and
/// one routing matrix per task, so a run of any length holds the same memory.
/// </summary>
internal sealed class LiveState
{
    /// <summary>Loss points kept per task.</summary>
    public const int MaxLossPoints = 500;

    /// <summary>Events kept.</summary>
    public const int MaxEvents = 50;

    /// <summary>Progress reports the step rate is measured over (a sliding window, so it follows slowdowns).</summary>
    public const int RateWindow = 20;

    private readonly object gate = new();
    private readonly LiveJob job;
    private readonly Func<double> clock;
    private readonly Func<DateTimeOffset> wallClock;
    private readonly Dictionary<string, Queue<LossPoint>> loss = [];
    private readonly Dictionary<string, RoutingMatrix> routing = [];
    private readonly Queue<(double Time, long Step, int Samples)> rate = new();
    private readonly Queue<LiveEvent> events = new();
    private volatile Func<IReadOnlyList<LiveMember>> members = () => [];
    private IReadOnlyList<DeviceStep> devices = [];
    private string status = "waiting";
    private bool hostsTraining;
    private long step;
    private long epoch;
    private int worldSize;
    private double learningRate;
    private double tau;

    /// <param name="job">The job as the page describes it.</param>
    /// <param name="hostsTraining">True when this process runs the coordinator for sure (a single-process run); a cluster node finds out from the events.</param>
    /// <param name="clock">Monotonic seconds (the step rate); a stopwatch unless a test drives it.</param>
    /// <param name="wallClock">Time stamps of events; the system's clock unless a test drives it.</param>
    public LiveState(LiveJob job, bool hostsTraining, Func<double>? clock = null, Func<DateTimeOffset>? wallClock = null)
    {
        this.job = job;
        this.hostsTraining = hostsTraining;
        var started = Stopwatch.StartNew();
        this.clock = clock ?? (() => started.Elapsed.TotalSeconds);
        this.wallClock = wallClock ?? (() => DateTimeOffset.UtcNow);
        foreach (var task in job.Tasks)
        {
            loss[task] = new Queue<LossPoint>();
        }
    }

    /// <summary>Takes one event of the node (anything else is ignored).</summary>
    public void Apply(object e)
    {
        switch (e)
        {
            case TrainingProgress p: Progress(p); break;
            case EvaluationReport r: Evaluated(r); break;
            case StepSkipped s: Event("skipped", $"step {s.Step} skipped: {s.NonFiniteRanks} device(s) with non-finite values ({s.Consecutive} in a row)", training: true); break;
            case MembershipChanged m:
                Event("epoch", $"epoch {m.Epoch}: {m.WorldSize} device(s), {m.Reason}{(m.StepDiscarded ? "; step discarded" : "")}", training: true);
                break;
            case CheckpointSaved c: Event("checkpoint", $"checkpoint of step {c.Record.Step} committed ({c.Record.Bytes / 1e6:0.0} MB)", training: true); break;
            case CheckpointNotSaved n: Event("checkpoint", $"checkpoint of step {n.Step} not saved: {n.Reason}", training: true); break;
            case NodeStatusChanged n: Event("node", $"node {n.Node} {n.Status}", training: true); break;
            case NodeLog line: Event("node", line.Line, training: false); break;
            case ReplicasVerified v: Event("finished", $"replicas identical: {v.NumReplicas} device(s)", training: true); break;
            case TrainingFinished f: Ended("finished", $"training finished at step {f.Step}"); break;
            case TrainingFailed f: Ended("failed", $"training failed at step {f.Step}: {f.Reason}"); break;
            case JobEnded j: Ended(j.Succeeded ? "finished" : "failed", $"job ended: {j.Summary}"); break;
            case NodeRemoved r: Ended("failed", r.Reason); break;
        }
    }

    /// <summary>
    /// A task's unit-selection probabilities ([layer][unit]) at a step. One entry for every source
    /// (held-out evaluations today, per-step routing when progress carries it): an older step than
    /// the one shown is ignored, so sources may interleave.
    /// </summary>
    public void UpdateRouting(long atStep, string task, IReadOnlyList<IReadOnlyList<double>> probabilities)
    {
        var copy = probabilities.Select(layer => layer.ToArray()).ToArray();
        lock (gate)
        {
            if (routing.TryGetValue(task, out var shown) && shown.Step > atStep)
            {
                return;
            }
            routing[task] = new RoutingMatrix(atStep, copy);
        }
    }

    /// <summary>Where each snapshot reads the members from (set once the node, and so its cluster, is up).</summary>
    public void ReadMembersFrom(Func<IReadOnlyList<LiveMember>> source) => members = source;

    /// <summary>A consistent copy of everything, with the members as they are now.</summary>
    public LiveSnapshot Snapshot()
    {
        var current = members();
        lock (gate)
        {
            var (stepsPerSecond, imagesPerSecond) = Rates();
            double? eta = stepsPerSecond is > 0 && step < job.MaxSteps ? (job.MaxSteps - step) / stepsPerSecond.Value : null;
            var cells = job.Tasks.Where(routing.ContainsKey).Concat(routing.Keys.Where(t => !job.Tasks.Contains(t)))
                .SelectMany(task => Cells(task, routing[task])).ToList();
            return new LiveSnapshot(
                job, status, hostsTraining, step, epoch, worldSize, learningRate, tau, imagesPerSecond, stepsPerSecond, eta,
                devices, current,
                loss.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<LossPoint>)[.. kv.Value]),
                routing.Count == 0 ? null : routing.Values.Max(r => r.Step),
                cells,
                [.. events.Reverse()]);
        }
    }

    private void Progress(TrainingProgress p)
    {
        lock (gate)
        {
            hostsTraining = true;
            status = "training";
            step = p.Step;
            epoch = p.Epoch;
            worldSize = p.WorldSize;
            learningRate = p.LearningRate;
            tau = p.Tau;
            devices = p.Devices;
            foreach (var (task, value) in p.LossPerTask)
            {
                if (!loss.TryGetValue(task, out var points))
                {
                    loss[task] = points = new Queue<LossPoint>();
                }
                Bounded(points, new LossPoint(p.Step, value), MaxLossPoints);
            }
            Bounded(rate, (clock(), p.Step, p.Samples), RateWindow);
        }
        // The probabilities after the step, of each task that ran in it (steps done = p.Step + 1, as an evaluation counts them).
        foreach (var (task, probabilities) in p.UnitProbabilities)
        {
            UpdateRouting(p.Step + 1, task, probabilities);
        }
    }

    private void Evaluated(EvaluationReport report)
    {
        foreach (var (task, probabilities) in report.UnitProbabilities)
        {
            UpdateRouting(report.Step, task, probabilities);
        }
        string failed = report.Failures.Count == 0 ? "" : $"; failed: {string.Join(", ", report.Failures.Keys)}";
        Event("evaluation", $"evaluation at step {report.Step}: {report.Metrics.Count} task(s){failed}", training: true);
    }

    private void Ended(string outcome, string text)
    {
        lock (gate)
        {
            status = outcome;
        }
        Event(outcome, text, training: false);
    }

    private void Event(string kind, string text, bool training)
    {
        lock (gate)
        {
            hostsTraining |= training;
            Bounded(events, new LiveEvent(wallClock(), kind, text), MaxEvents);
        }
    }

    // Steps and images per second of wall time between the window's first and last report (so
    // evaluations and checkpoints count); null until two reports are apart in time.
    private (double? Steps, double? Images) Rates()
    {
        if (rate.Count < 2)
        {
            return (null, null);
        }
        var (firstTime, firstStep, _) = rate.Peek();
        var (lastTime, lastStep, _) = rate.Last();
        if (lastTime <= firstTime)
        {
            return (null, null);
        }
        double seconds = lastTime - firstTime;
        return ((lastStep - firstStep) / seconds, rate.Skip(1).Sum(r => r.Samples) / seconds);
    }

    private static IEnumerable<RoutingCell> Cells(string task, RoutingMatrix matrix) =>
        matrix.Probabilities.Select((units, layer) =>
        {
            int chosen = units.Length == 0 ? 0 : Array.IndexOf(units, units.Max());
            return new RoutingCell(task, layer, chosen, units.Length == 0 ? 0 : units[chosen], matrix.Step, units);
        });

    private static void Bounded<T>(Queue<T> queue, T item, int capacity)
    {
        queue.Enqueue(item);
        while (queue.Count > capacity)
        {
            queue.Dequeue();
        }
    }

    private sealed record RoutingMatrix(long Step, double[][] Probabilities);
}

/// <summary>The job as the live view describes it.</summary>
internal sealed record LiveJob(string Name, string Node, long MaxSteps, IReadOnlyList<string> Tasks, int NumLayers, int NumUnits);

/// <summary>A cluster member as the live view lists it; <paramref name="Coordinator"/>: the oldest member, where the job leader runs.</summary>
internal sealed record LiveMember(string Address, string Status, bool Self, bool Coordinator, bool Reachable);

/// <summary>One task's loss at a step.</summary>
internal sealed record LossPoint(long Step, double Loss);

/// <summary>One heatmap cell: a task's chosen unit at a lego layer, its probability, and every unit's probability.</summary>
internal sealed record RoutingCell(string Task, int Layer, int Unit, double Probability, long Step, IReadOnlyList<double> Units);

/// <summary>A recent event: when, what kind (epoch, checkpoint, node, evaluation, skipped, finished, failed) and one line.</summary>
internal sealed record LiveEvent(DateTimeOffset Time, string Kind, string Text);

/// <summary>What <c>/api/state</c> returns.</summary>
internal sealed record LiveSnapshot(
    LiveJob Job,
    string Status,
    bool HostsTraining,
    long Step,
    long Epoch,
    int WorldSize,
    double LearningRate,
    double Tau,
    double? ImagesPerSecond,
    double? StepsPerSecond,
    double? EtaSeconds,
    IReadOnlyList<DeviceStep> Devices,
    IReadOnlyList<LiveMember> Members,
    IReadOnlyDictionary<string, IReadOnlyList<LossPoint>> Loss,
    long? RoutingStep,
    IReadOnlyList<RoutingCell> Routing,
    IReadOnlyList<LiveEvent> Events);
