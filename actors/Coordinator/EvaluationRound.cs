namespace GppfActors.Actors.Coordinator;

/// <summary>
/// One held-out evaluation: every task handed to a device, its metrics or its failure, and a
/// deadline. A task whose device fails, leaves or stays silent past the deadline is recorded as
/// failed, so an evaluation always ends. Pure: devices are opaque keys, times monotonic seconds.
/// </summary>
public sealed class EvaluationRound
{
    private readonly Dictionary<string, object> pending = [];
    private readonly Dictionary<string, IReadOnlyDictionary<string, double>> metrics = [];
    private readonly Dictionary<string, IReadOnlyList<IReadOnlyList<double>>> routing = [];
    private readonly Dictionary<string, string> failures = [];
    private readonly double deadline;

    /// <summary>Hands task i to device i mod devices.Count.</summary>
    public EvaluationRound(long step, IReadOnlyList<string> tasks, IReadOnlyList<object> devices, double now, double timeoutSeconds)
    {
        if (devices.Count == 0)
        {
            throw new ArgumentException("an evaluation needs at least one device", nameof(devices));
        }
        Step = step;
        TimeoutSeconds = timeoutSeconds;
        deadline = now + timeoutSeconds;
        for (int i = 0; i < tasks.Count; i++)
        {
            pending[tasks[i]] = devices[i % devices.Count];
        }
        Assignments = pending.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    /// <summary>The step evaluated.</summary>
    public long Step { get; }

    /// <summary>The deadline of the whole evaluation.</summary>
    public double TimeoutSeconds { get; }

    /// <summary>Which device evaluates which task.</summary>
    public IReadOnlyDictionary<string, object> Assignments { get; }

    /// <summary>Metrics of the tasks that finished.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Metrics => metrics;

    /// <summary>Unit-selection probabilities of the tasks that finished.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<double>>> Routing => routing;

    /// <summary>Tasks that could not be evaluated, with the reason.</summary>
    public IReadOnlyDictionary<string, string> Failures => failures;

    /// <summary>True when every task finished or failed.</summary>
    public bool Done => pending.Count == 0;

    public void Completed(string task, IReadOnlyDictionary<string, double> taskMetrics, IReadOnlyList<IReadOnlyList<double>> unitProbabilities)
    {
        if (pending.Remove(task))
        {
            metrics[task] = taskMetrics;
            routing[task] = unitProbabilities;
        }
    }

    public void Failed(string task, string reason)
    {
        if (pending.Remove(task))
        {
            failures[task] = reason;
        }
    }

    /// <summary>A device left (stopped, restarted): its unfinished tasks fail.</summary>
    public void DeviceLost(object device, string reason)
    {
        foreach (var task in pending.Where(kv => Equals(kv.Value, device)).Select(kv => kv.Key).ToList())
        {
            Failed(task, reason);
        }
    }

    /// <summary>At <paramref name="now"/> past the deadline, every unfinished task fails; returns the devices that stayed silent.</summary>
    public IReadOnlyList<object> Expire(double now)
    {
        if (now < deadline || Done)
        {
            return [];
        }
        var silent = pending.Values.Distinct().ToList();
        foreach (var task in pending.Keys.ToList())
        {
            Failed(task, $"no result within eval.timeout_seconds ({TimeoutSeconds:0.#} s)");
        }
        return silent;
    }
}
