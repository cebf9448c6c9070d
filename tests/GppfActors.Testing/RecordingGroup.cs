using GppfActors.Collectives;
using TorchSharp;

namespace GppfActors.Testing;

/// <summary>A group that records the operation name of every all-reduce its member issues, in order, and hands every call to the group it wraps (which it owns).</summary>
public sealed class RecordingGroup(ICollectiveGroup inner) : ICollectiveGroup
{
    private readonly List<string> allReduces = [];

    /// <summary>Operation names of the all-reduces issued so far, in order.</summary>
    public IReadOnlyList<string> AllReduces => allReduces;

    public long Epoch => inner.Epoch;

    public int Rank => inner.Rank;

    public int WorldSize => inner.WorldSize;

    public bool IsAborted => inner.IsAborted;

    public TimeSpan WaitTime => inner.WaitTime;

    public void AllReduceSum(IReadOnlyList<torch.Tensor> tensors, string operation = "all-reduce")
    {
        allReduces.Add(operation);
        inner.AllReduceSum(tensors, operation);
    }

    public void Broadcast(IReadOnlyList<torch.Tensor> tensors, int root, string operation = "broadcast") => inner.Broadcast(tensors, root, operation);

    public torch.Tensor[] AllGather(torch.Tensor tensor, string operation = "all-gather") => inner.AllGather(tensor, operation);

    public void Barrier(string operation = "barrier") => inner.Barrier(operation);

    public void Abort(string reason) => inner.Abort(reason);

    public void Dispose() => inner.Dispose();
}
