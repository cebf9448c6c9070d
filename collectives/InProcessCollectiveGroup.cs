using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>One rank's view of an <see cref="InProcessCollectiveHub"/>; used from that rank's device thread only.</summary>
internal sealed class InProcessCollectiveGroup(InProcessCollectiveHub hub, int rank) : ICollectiveGroup
{
    public long Epoch => hub.Epoch;

    public int Rank { get; } = rank;

    public int WorldSize => hub.WorldSize;

    public bool IsAborted => hub.IsAborted;

    public TimeSpan WaitTime => hub.WaitTime(Rank);

    public void AllReduceSum(IReadOnlyList<torch.Tensor> tensors, string operation = "all-reduce")
    {
        if (WorldSize == 1)
        {
            ThrowIfAborted(operation);
            return;
        }
        hub.AllReduceSum(Rank, tensors, operation);
    }

    public void Broadcast(IReadOnlyList<torch.Tensor> tensors, int root, string operation = "broadcast")
    {
        if (WorldSize == 1)
        {
            ThrowIfAborted(operation);
            return;
        }
        hub.Broadcast(Rank, tensors, root, operation);
    }

    public torch.Tensor[] AllGather(torch.Tensor tensor, string operation = "all-gather") =>
        hub.AllGather(Rank, tensor, operation);

    public void Barrier(string operation = "barrier") => hub.Barrier(Rank, operation);

    public void Abort(string reason) => hub.Abort(reason);

    public void Dispose()
    {
        // The hub owns the shared buffers; a member leaving does not end the epoch for others.
    }

    private void ThrowIfAborted(string operation)
    {
        if (hub.AbortedError(operation) is { } error)
        {
            throw error;
        }
    }
}
