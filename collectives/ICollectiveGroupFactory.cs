namespace GppfActors.Collectives;

/// <summary>
/// Makes this process's collective groups from data-only <see cref="GroupSpec"/>s: the device side
/// of the actor protocol holds specs, epochs and reasons, never sockets or hubs. One per process.
/// </summary>
public interface ICollectiveGroupFactory : IDisposable
{
    /// <summary>Identifies this process in <see cref="GroupMember.ProcessId"/>.</summary>
    string ProcessId { get; }

    /// <summary>This process's collective listener, "host:port", for <see cref="GroupMember.Endpoint"/>.</summary>
    string Endpoint { get; }

    /// <summary>
    /// The handle of <paramref name="rank"/> (which <paramref name="spec"/> must place in this
    /// process) on the group of <paramref name="spec"/>'s epoch. Called on the device's own thread;
    /// every local rank of one epoch joins with an equal spec. Joining a newer epoch releases the
    /// older epochs' resources here; joining an epoch older than one already joined or aborted
    /// throws <see cref="CollectiveAbortedException"/>.
    /// </summary>
    ICollectiveGroup Join(GroupSpec spec, int rank);

    /// <summary>
    /// As <see cref="Join(GroupSpec, int)"/> for the device <paramref name="device"/> of this process
    /// (<c>cpu:K</c>, <c>cuda:K</c>): groups whose members are bound to a device (NCCL's communicators
    /// live on one GPU each) need it; the host-memory groups ignore it.
    /// </summary>
    ICollectiveGroup Join(GroupSpec spec, int rank, string device) => Join(spec, rank);

    /// <summary>
    /// A fresh id for the next epoch's group, made in this process, when the group needs one that every
    /// rank joins with (NCCL's unique id, whose bootstrap root lives in the process that made it); null
    /// for groups formed from the spec's members alone. The coordinator asks rank 0's device for it and
    /// puts it in <see cref="GroupSpec.NcclUniqueId"/>.
    /// </summary>
    string? NewGroupId() => null;

    /// <summary>The newest epoch joined or aborted in this process (<see cref="long.MinValue"/> before any).</summary>
    long NewestEpoch { get; }

    /// <summary>
    /// Aborts <paramref name="epoch"/> from any thread: every local member waiting in a collective
    /// of that epoch wakes at once with <see cref="CollectiveAbortedException"/>, and the remote
    /// members see their connections to this process closed and fail too. An epoch not joined yet
    /// is born aborted; older epochs are released.
    /// </summary>
    void Abort(long epoch, string reason);
}
