using System.Net.Sockets;

namespace GppfActors.Collectives;

/// <summary>
/// Everything one process holds for one epoch: the in-process hub of its local ranks and, when
/// the group spans processes, its links in the ring between processes. Created by the node on the
/// first local join of the epoch; closed or aborted by the node.
/// </summary>
internal sealed class EpochSession
{
    private readonly HashSet<int> _joined = [];
    private readonly string _processId;

    public EpochSession(GroupSpec spec, string processId, RingSettings settings)
    {
        Spec = spec;
        _processId = processId;
        LocalRanks = spec.RanksOf(processId);
        Peers = RingPeer.Of(spec);
        if (Peers.Count == 1)
        {
            // Every rank is here: exactly the in-process group, same bits as before.
            Hub = new InProcessCollectiveHub(spec.Epoch, spec.WorldSize, spec.Timeout, timeProvider: settings.Time);
            return;
        }
        if (LocalRanks.Count > 1)
        {
            Hub = new InProcessCollectiveHub(spec.Epoch, LocalRanks.Count, spec.Timeout, timeProvider: settings.Time);
        }
        Self = Peers.Single(p => p.ProcessId == processId);
        Links = new RingLinks(spec, Peers, Self.RingIndex, settings, failure => Hub?.Abort(failure.Describe()));
        Tcp = new TcpCollectiveGroup(Links);
    }

    public GroupSpec Spec { get; }

    public long Epoch => Spec.Epoch;

    /// <summary>Global ranks of this process, ascending; the first leads it in the ring.</summary>
    public IReadOnlyList<int> LocalRanks { get; }

    public IReadOnlyList<RingPeer> Peers { get; }

    /// <summary>This process in the ring; null when every rank is local.</summary>
    public RingPeer? Self { get; }

    public InProcessCollectiveHub? Hub { get; }

    public RingLinks? Links { get; }

    public TcpCollectiveGroup? Tcp { get; }

    public bool IsAborted => (Links?.IsDone ?? false) || (Hub?.IsAborted ?? false);

    private string Origin => Self?.ToString() ?? $"process '{_processId}'";

    public void Start() => Links?.Start();

    /// <summary>The handle of global rank <paramref name="rank"/>, which must be one of this process's and join once.</summary>
    public ICollectiveGroup Join(int rank)
    {
        if (!_joined.Add(rank))
        {
            throw new ArgumentException($"rank {rank} has already joined epoch {Epoch} in process '{_processId}'");
        }
        if (Links is null)
        {
            return Hub!.Join(rank);
        }
        if (Peers.All(p => p.GlobalRanks.Count == 1))
        {
            return Tcp!;   // one rank per process: the ring index is the global rank
        }
        return new HierarchicalCollectiveGroup(this, rank, LocalIndexOf(rank));
    }

    public int LocalIndexOf(int rank) => LocalRanks.ToList().IndexOf(rank);

    /// <summary>Records <paramref name="error"/> (seen by a local member) as the epoch's failure, unless one is recorded already, and wakes everyone.</summary>
    public void FailWith(CollectiveException error)
    {
        // The ring records its own failures before throwing them; anything else came from the
        // hub, whose first error (time-out or mismatch, not the aborts it woke others with) is
        // the cause, in the hub's own numbering of the local ranks.
        var cause = Links?.Failure is null && Hub?.FirstError is { } hubError ? InGlobalRanks(hubError) : error;
        Links?.Fail(CollectiveFailure.From(cause, Origin));
        Hub?.Abort(cause.Message);
    }

    // The hub numbers this process's ranks 0..L-1; everyone else knows them by their global ranks.
    private CollectiveException InGlobalRanks(CollectiveException hubError) => hubError switch
    {
        CollectiveTimeoutException t => new CollectiveTimeoutException(t.Epoch, t.Operation, t.Timeout, t.MissingRanks.Select(i => LocalRanks[i]).ToList()),
        CollectiveMismatchException m => new CollectiveMismatchException(m.Epoch, m.Operation,
            $"in process '{_processId}', whose local ranks 0..{LocalRanks.Count - 1} are global ranks {string.Join(", ", LocalRanks)}: {m.Detail}"),
        _ => hubError,
    };

    /// <summary>The exception every member of this process throws for the epoch's failure, if there is one.</summary>
    public CollectiveException? FailureFor(string operation) => Links?.Failure?.ToException(Epoch, operation);

    public void Abort(string reason)
    {
        Links?.Fail(CollectiveFailure.Aborted(Origin, reason));
        Hub?.Abort(reason);
    }

    public void Close(string reason)
    {
        Hub?.Abort(reason);
        Links?.Close(reason);
    }

    public void WaitFlushed(TimeSpan limit) => Links?.WaitFlushed(limit);

    public string? OfferIncoming(Handshake handshake, Socket socket) =>
        Links is null
            ? $"every rank of epoch {Epoch} is in process '{_processId}'; it takes no connections"
            : Links.OfferIncoming(handshake, socket);
}
