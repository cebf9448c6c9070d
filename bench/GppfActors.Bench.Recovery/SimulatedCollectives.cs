namespace GppfActors.Bench.Recovery;

/// <summary>
/// The stand-in for the collective groups (the TCP ring between nodes): one rendezvous per
/// operation of an epoch (a step's last collective, the alignment broadcast) that ends when every
/// rank has arrived, when the epoch is aborted (a node agent's <c>AbortGroup</c>, which in the real
/// ring closes the sockets and so wakes every member), or at the group's time-out. A killed node's
/// members never arrive, so its peers wait in the collective as they would on the real ring.
/// Shared by every node of the process; thread-safe.
/// </summary>
internal sealed class SimulatedCollectives
{
    private readonly object gate = new();
    private readonly Dictionary<(long Epoch, string Operation), Meeting> meetings = [];
    private readonly HashSet<string> isolated = [];
    private long abortedUpTo = long.MinValue;
    private string abortReason = "";

    /// <summary>
    /// After <paramref name="work"/> (the device's own part), the rank of <paramref name="node"/>
    /// arrives at <paramref name="operation"/> of <paramref name="epoch"/>. Completes with null
    /// when all <paramref name="worldSize"/> ranks are there, or with why not.
    /// </summary>
    public async Task<string?> MeetAsync(string node, long epoch, string operation, int worldSize, TimeSpan work, TimeSpan timeout)
    {
        if (work > TimeSpan.Zero)
        {
            await Task.Delay(work).ConfigureAwait(false);
        }
        var meeting = Arrive(node, epoch, operation, worldSize);
        var first = await Task.WhenAny(meeting, Task.Delay(timeout)).ConfigureAwait(false);
        return first == meeting ? await meeting.ConfigureAwait(false) : $"epoch {epoch}: {operation} timed out after {timeout.TotalSeconds:0.#} s";
    }

    /// <summary>Every operation of <paramref name="epoch"/> and older fails now and from now on.</summary>
    public void Abort(long epoch, string reason)
    {
        List<Meeting> aborted;
        lock (gate)
        {
            if (epoch > abortedUpTo)
            {
                abortedUpTo = epoch;
                abortReason = reason;
            }
            aborted = meetings.Where(kv => kv.Key.Epoch <= epoch).Select(kv => kv.Value).ToList();
            foreach (var key in meetings.Keys.Where(k => k.Epoch <= epoch).ToList())
            {
                meetings.Remove(key);
            }
        }
        foreach (var meeting in aborted)
        {
            meeting.Done.TrySetResult($"epoch {epoch} aborted: {reason}");
        }
    }

    /// <summary>The node is dead to the others: its ranks never arrive anywhere again.</summary>
    public void Isolate(string node)
    {
        lock (gate)
        {
            isolated.Add(node);
        }
    }

    private Task<string?> Arrive(string node, long epoch, string operation, int worldSize)
    {
        Meeting meeting;
        lock (gate)
        {
            if (isolated.Contains(node))
            {
                return new TaskCompletionSource<string?>().Task;
            }
            if (epoch <= abortedUpTo)
            {
                return Task.FromResult<string?>($"epoch {epoch} aborted: {abortReason}");
            }
            if (!meetings.TryGetValue((epoch, operation), out meeting!))
            {
                meeting = new Meeting();
                meetings[(epoch, operation)] = meeting;
            }
            if (++meeting.Arrived < worldSize)
            {
                return meeting.Done.Task;
            }
            meetings.Remove((epoch, operation));
        }
        meeting.Done.TrySetResult(null);
        return meeting.Done.Task;
    }

    private sealed class Meeting
    {
        public int Arrived { get; set; }

        public TaskCompletionSource<string?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
