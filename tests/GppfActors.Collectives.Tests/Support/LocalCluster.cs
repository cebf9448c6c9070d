using System.Diagnostics;

namespace GppfActors.Collectives.Tests.Support;

/// <summary>
/// Several <see cref="CollectiveNode"/>s in the test process, each standing for one OS process
/// (its own listener and sockets on 127.0.0.1), with one thread per rank.
/// </summary>
internal sealed class LocalCluster : IDisposable
{
    private LocalCluster(CollectiveNode[] nodes) => Nodes = nodes;

    public CollectiveNode[] Nodes { get; }

    public static LocalCluster Start(int numProcesses, CollectiveNodeOptions? options = null) =>
        new(Enumerable.Range(0, numProcesses)
            .Select(p => new CollectiveNode((options ?? new CollectiveNodeOptions()) with { ProcessId = $"p{p}" }))
            .ToArray());

    /// <summary>A spec whose rank r lives in process <paramref name="processOfRank"/>[r].</summary>
    public GroupSpec Spec(long epoch, double timeoutSeconds, params int[] processOfRank) =>
        new(epoch, timeoutSeconds, processOfRank
            .Select((p, rank) => new GroupMember(rank, Nodes[p].ProcessId, Nodes[p].Endpoint))
            .ToList());

    /// <summary>Runs <paramref name="body"/> for every rank of <paramref name="spec"/> on its own thread; throws every failure together.</summary>
    public T[] Run<T>(GroupSpec spec, Func<int, ICollectiveGroup, T> body)
    {
        var outcomes = RunEach(spec, body);
        var errors = outcomes.Where(o => o.Error is not null).Select(o => o.Error!).ToList();
        if (errors.Count > 0)
        {
            throw new AggregateException(errors);
        }
        return outcomes.Select(o => o.Result!).ToArray();
    }

    /// <summary>Every rank's result or exception and how long its body ran; ranks not in <paramref name="ranks"/> are not started.</summary>
    public Outcome<T>[] RunEach<T>(GroupSpec spec, Func<int, ICollectiveGroup, T> body, IReadOnlyCollection<int>? ranks = null) =>
        Start(spec, body, ranks).Wait();

    /// <summary>Starts one thread per rank (those in <paramref name="ranks"/>, or all) and returns at once.</summary>
    public Running<T> Start<T>(GroupSpec spec, Func<int, ICollectiveGroup, T> body, IReadOnlyCollection<int>? ranks = null)
    {
        var running = new Running<T>(spec.WorldSize);
        var node = spec.Members.Select(m => Nodes.SingleOrDefault(n => n.ProcessId == m.ProcessId)).ToArray();
        foreach (int rank in Enumerable.Range(0, spec.WorldSize).Where(r => ranks is null || ranks.Contains(r)))
        {
            var thread = new Thread(() =>
            {
                long started = Stopwatch.GetTimestamp();
                try
                {
                    using var group = node[rank]!.Join(spec, rank);
                    var result = body(rank, group);
                    running.Outcomes[rank] = new Outcome<T>(result, null, Stopwatch.GetElapsedTime(started));
                }
                catch (Exception e)
                {
                    running.Outcomes[rank] = new Outcome<T>(default, e, Stopwatch.GetElapsedTime(started));
                }
            })
            { IsBackground = true, Name = $"rank-{rank}" };
            running.Threads[rank] = thread;
            thread.Start();
        }
        return running;
    }

    public void Dispose()
    {
        foreach (var n in Nodes)
        {
            n.Dispose();
        }
    }
}

/// <summary>What one rank's body did.</summary>
internal sealed record Outcome<T>(T? Result, Exception? Error, TimeSpan Elapsed);

/// <summary>Rank threads started by <see cref="LocalCluster.Start"/>.</summary>
internal sealed class Running<T>(int worldSize)
{
    public Thread?[] Threads { get; } = new Thread?[worldSize];

    public Outcome<T>[] Outcomes { get; } = new Outcome<T>[worldSize];

    /// <summary>Waits for every started rank; a rank still running after <paramref name="limitSeconds"/> means a collective hangs.</summary>
    public Outcome<T>[] Wait(double limitSeconds = 60)
    {
        foreach (var t in Threads.OfType<Thread>())
        {
            if (!t.Join(TimeSpan.FromSeconds(limitSeconds)))
            {
                throw new TimeoutException($"{t.Name} did not finish within {limitSeconds} s: a collective hangs");
            }
        }
        return Outcomes;
    }

    /// <summary>
    /// Returns once every rank in <paramref name="ranks"/> has passed its marker (the body sets
    /// it right before the call under test) and its thread is blocked; yields, never sleeps.
    /// </summary>
    public void WaitUntilBlocked(Func<int, bool> passedMarker, params int[] ranks)
    {
        long until = Environment.TickCount64 + 20_000;
        while (!ranks.All(r => passedMarker(r) && Threads[r] is { } t && (t.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0))
        {
            if (Environment.TickCount64 > until)
            {
                throw new TimeoutException($"ranks {string.Join(", ", ranks)} never blocked");
            }
            Thread.Yield();
        }
    }
}
