using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>
/// One rank's handle on a communicator for one membership epoch: every member calls the same
/// operations in the same order; tensors never travel in actor messages, they move through here.
/// </summary>
/// <remarks>
/// A group is valid for exactly one epoch. After <see cref="Abort"/> (or a time-out, which aborts)
/// every pending and later call throws <see cref="CollectiveAbortedException"/>; membership changes
/// build a new group under a new epoch rather than repairing an old one.
/// </remarks>
public interface ICollectiveGroup : IDisposable
{
    /// <summary>The membership epoch this group belongs to.</summary>
    long Epoch { get; }

    /// <summary>This member's rank, 0 .. WorldSize-1.</summary>
    int Rank { get; }

    /// <summary>Number of members.</summary>
    int WorldSize { get; }

    /// <summary>True once the group was aborted or timed out.</summary>
    bool IsAborted { get; }

    /// <summary>Total time this member has spent in collectives waiting for the others, since the group was formed.</summary>
    TimeSpan WaitTime { get; }

    /// <summary>
    /// Sums each tensor element-wise over all ranks, in place. Tensors are packed into buckets (one
    /// pass per dtype) so that many small tensors cost few rendezvous.
    /// </summary>
    void AllReduceSum(IReadOnlyList<torch.Tensor> tensors, string operation = "all-reduce");

    /// <summary>Copies the root's tensors into every other rank's tensors of the same shapes, in place.</summary>
    void Broadcast(IReadOnlyList<torch.Tensor> tensors, int root, string operation = "broadcast");

    /// <summary>Returns every rank's copy of <paramref name="tensor"/> (same shape on all ranks), indexed by rank; the caller owns them.</summary>
    torch.Tensor[] AllGather(torch.Tensor tensor, string operation = "all-gather");

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier(string operation = "barrier");

    /// <summary>Wakes every member waiting in a collective with an exception naming <paramref name="reason"/>.</summary>
    void Abort(string reason);
}
