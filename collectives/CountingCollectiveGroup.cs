using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>
/// A group that counts the tensor bytes its member passes to collectives and hands every call to
/// the group it wraps; for metrics. Owns the wrapped group (disposing this disposes it).
/// </summary>
public sealed class CountingCollectiveGroup(ICollectiveGroup inner) : ICollectiveGroup
{
    private long bytes;

    /// <summary>Bytes of the tensors passed to all-reduce, broadcast and all-gather so far (each call counts its tensors once).</summary>
    public long Bytes => Interlocked.Read(ref bytes);

    public long Epoch => inner.Epoch;

    public int Rank => inner.Rank;

    public int WorldSize => inner.WorldSize;

    public bool IsAborted => inner.IsAborted;

    public TimeSpan WaitTime => inner.WaitTime;

    public void AllReduceSum(IReadOnlyList<torch.Tensor> tensors, string operation = "all-reduce")
    {
        Count(tensors);
        inner.AllReduceSum(tensors, operation);
    }

    public void Broadcast(IReadOnlyList<torch.Tensor> tensors, int root, string operation = "broadcast")
    {
        Count(tensors);
        inner.Broadcast(tensors, root, operation);
    }

    public torch.Tensor[] AllGather(torch.Tensor tensor, string operation = "all-gather")
    {
        Count([tensor]);
        return inner.AllGather(tensor, operation);
    }

    public void Barrier(string operation = "barrier") => inner.Barrier(operation);

    public void Abort(string reason) => inner.Abort(reason);

    public void Dispose() => inner.Dispose();

    private void Count(IReadOnlyList<torch.Tensor> tensors)
    {
        long sum = 0;
        foreach (var t in tensors)
        {
            sum += t.NumberOfElements * t.ElementSize;
        }
        Interlocked.Add(ref bytes, sum);
    }
}
