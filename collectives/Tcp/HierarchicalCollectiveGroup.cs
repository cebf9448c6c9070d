using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>
/// A rank of a group whose processes hold several ranks each: the local ranks meet in the
/// process's in-process hub, the lowest of them (the leader) takes part in the ring between
/// processes, and the result is shared back in-process. Global ranks keep the spec's numbering.
/// </summary>
/// <remarks>
/// Summation order: each process sums its local ranks in rank order, then the processes' partial
/// sums are combined as <see cref="TcpCollectiveGroup"/> describes, in ring (process) order. The
/// same on every rank and in every run; it equals the plain rank-order sum when every process
/// holds one rank and there are two of them.
/// Waiting for the leader: local ranks wait for their leader's network step with a longer
/// time-out than the spec's, because the leader is itself bounded by the spec's time-out on every
/// wait and aborts the local hub when it fails; the spec's time-out would race with its.
/// </remarks>
internal sealed class HierarchicalCollectiveGroup(EpochSession session, int rank, int localIndex) : ICollectiveGroup
{
    private readonly InProcessCollectiveHub? _hub = session.Hub;
    private readonly TcpCollectiveGroup _tcp = session.Tcp!;
    private readonly bool _leader = localIndex == 0;
    private readonly TimeSpan _shareTimeout = session.Spec.Timeout * 10 + TimeSpan.FromSeconds(60);

    public long Epoch => session.Epoch;

    public int Rank { get; } = rank;

    public int WorldSize => session.Spec.WorldSize;

    public bool IsAborted => session.IsAborted;

    public TimeSpan WaitTime => (_hub?.WaitTime(localIndex) ?? TimeSpan.Zero) + (_leader ? _tcp.WaitTime : TimeSpan.Zero);

    public void AllReduceSum(IReadOnlyList<torch.Tensor> tensors, string operation = "all-reduce") => Guarded(operation, () =>
    {
        _hub?.AllReduceSum(localIndex, tensors, operation);
        if (_leader)
        {
            _tcp.AllReduceSum(tensors, operation);
        }
        _hub?.Broadcast(localIndex, tensors, 0, operation, _shareTimeout);
    });

    public void Broadcast(IReadOnlyList<torch.Tensor> tensors, int root, string operation = "broadcast")
    {
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be in [0, {WorldSize})");
        }
        var owner = session.Peers.Single(p => p.GlobalRanks.Contains(root));
        Guarded(operation, () =>
        {
            if (owner.ProcessId == session.Self!.ProcessId)
            {
                // The root's process spreads it locally first, so its leader has it for the ring.
                _hub?.Broadcast(localIndex, tensors, session.LocalIndexOf(root), operation);
                if (_leader)
                {
                    _tcp.Broadcast(tensors, owner.RingIndex, operation);
                }
            }
            else
            {
                if (_leader)
                {
                    _tcp.Broadcast(tensors, owner.RingIndex, operation);
                }
                _hub?.Broadcast(localIndex, tensors, 0, operation, _shareTimeout);
            }
        });
    }

    public torch.Tensor[] AllGather(torch.Tensor tensor, string operation = "all-gather")
    {
        var list = new[] { tensor };
        int elementSize = BucketPacking.CheckTensors(list, tensor.dtype, operation);
        long numel = tensor.numel();
        int bytes = checked((int)(numel * elementSize));
        using var all = torch.empty(WorldSize * numel, tensor.dtype);
        Guarded(operation, () =>
        {
            var local = _hub is null ? null : _hub.AllGather(localIndex, tensor, operation);
            try
            {
                if (_leader)
                {
                    var mine = new byte[session.LocalRanks.Count * bytes];
                    for (int i = 0; i < session.LocalRanks.Count; i++)
                    {
                        BucketPacking.Pack(local is null ? list : [local[i]], 0, numel, elementSize, mine.AsSpan(i * bytes, bytes));
                    }
                    var blocks = session.Peers.Select(p => p.GlobalRanks.Count * bytes).ToArray();
                    var gathered = _tcp.AllGatherBlocks(mine, blocks,
                        $"{operation}|gather|{tensor.dtype}|{string.Join("x", tensor.shape)}", operation);
                    // The ring delivers processes in ring order, each with its ranks ascending;
                    // the result is indexed by global rank.
                    Span<byte> destination = all.bytes;
                    int offset = 0;
                    foreach (var peer in session.Peers)
                    {
                        foreach (int r in peer.GlobalRanks)
                        {
                            gathered.AsSpan(offset, bytes).CopyTo(destination.Slice(r * bytes, bytes));
                            offset += bytes;
                        }
                    }
                }
            }
            finally
            {
                if (local is not null)
                {
                    foreach (var t in local)
                    {
                        t.Dispose();
                    }
                }
            }
            _hub?.Broadcast(localIndex, [all], 0, operation, _shareTimeout);
        });
        var result = new torch.Tensor[WorldSize];
        ReadOnlySpan<byte> source = all.bytes;
        for (int r = 0; r < WorldSize; r++)
        {
            result[r] = torch.empty(tensor.shape, tensor.dtype);
            if (bytes > 0)
            {
                source.Slice(r * bytes, bytes).CopyTo(result[r].bytes);
            }
        }
        return result;
    }

    public void Barrier(string operation = "barrier") => Guarded(operation, () =>
    {
        _hub?.Barrier(localIndex, operation);
        if (_leader)
        {
            _tcp.Barrier(operation);
        }
        _hub?.Barrier(localIndex, operation, _shareTimeout);
    });

    public void Abort(string reason) => session.Abort(reason);

    public void Dispose()
    {
        // The session owns hub and links; one member leaving does not end the epoch for others.
    }

    // Any failure seen here becomes the epoch's failure (so the other processes hear of it at
    // once), and every member reports the epoch's first failure, whichever part saw it.
    private void Guarded(string operation, Action body)
    {
        if (session.FailureFor(operation) is { } ended)
        {
            throw ended;
        }
        try
        {
            body();
        }
        catch (CollectiveException e)
        {
            session.FailWith(e);
            throw session.FailureFor(operation) ?? e;
        }
    }
}
