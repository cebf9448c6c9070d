namespace GppfActors.Collectives.Nccl;

/// <summary>
/// The native calls <see cref="NcclGroup"/> makes: NCCL's (<c>libnccl.so.2</c>) and the few CUDA
/// runtime calls that order and time them (<c>libcudart</c>). <see cref="NcclLibrary"/> is the real
/// one; tests put a simulated NCCL behind it, so the group's logic (deadlines, abort, grouping,
/// epochs) runs and fails on CPUs. Signatures follow the C functions; pointers are device pointers.
/// </summary>
internal interface INcclApi
{
    /// <summary><c>ncclGetVersion</c>, e.g. 23004 for 2.30.4.</summary>
    int GetVersion();

    /// <summary><c>ncclGetUniqueId</c>.</summary>
    NcclUniqueId GetUniqueId();

    /// <summary><c>ncclCommInitRankConfig</c>; with a non-blocking config it returns <see cref="NcclResult.InProgress"/> and the communicator finishes forming in the background.</summary>
    NcclResult CommInitRankConfig(out IntPtr comm, int numRanks, NcclUniqueId id, int rank, ref NcclConfig config);

    /// <summary><c>ncclGroupStart</c>.</summary>
    NcclResult GroupStart();

    /// <summary><c>ncclGroupEnd</c>; <see cref="NcclResult.InProgress"/> on a non-blocking communicator until the group is enqueued.</summary>
    NcclResult GroupEnd();

    /// <summary><c>ncclAllReduce</c>.</summary>
    NcclResult AllReduce(IntPtr send, IntPtr receive, ulong count, NcclDataType type, NcclRedOp op, IntPtr comm, IntPtr stream);

    /// <summary><c>ncclBroadcast</c>.</summary>
    NcclResult Broadcast(IntPtr send, IntPtr receive, ulong count, NcclDataType type, int root, IntPtr comm, IntPtr stream);

    /// <summary><c>ncclAllGather</c>; <paramref name="sendCount"/> elements per rank.</summary>
    NcclResult AllGather(IntPtr send, IntPtr receive, ulong sendCount, NcclDataType type, IntPtr comm, IntPtr stream);

    /// <summary><c>ncclCommGetAsyncError</c>: <see cref="NcclResult.InProgress"/> while a non-blocking call is still being carried out.</summary>
    NcclResult CommGetAsyncError(IntPtr comm, out NcclResult asyncError);

    /// <summary><c>ncclCommAbort</c>: frees the communicator and stops its pending work; callable while another thread uses it.</summary>
    NcclResult CommAbort(IntPtr comm);

    /// <summary><c>ncclCommDestroy</c>.</summary>
    NcclResult CommDestroy(IntPtr comm);

    /// <summary><c>ncclGetErrorString</c>.</summary>
    string ErrorString(NcclResult result);

    /// <summary><c>cudaSetDevice</c> (the calling thread's current device); returns the CUDA error code.</summary>
    int SetDevice(int ordinal);

    /// <summary><c>cudaEventCreateWithFlags(cudaEventDisableTiming)</c>.</summary>
    IntPtr CreateEvent();

    /// <summary><c>cudaEventRecord</c> on <paramref name="stream"/>; returns the CUDA error code.</summary>
    int RecordEvent(IntPtr cudaEvent, IntPtr stream);

    /// <summary><c>cudaEventQuery</c>.</summary>
    CudaEventState QueryEvent(IntPtr cudaEvent);

    /// <summary><c>cudaEventDestroy</c>.</summary>
    void DestroyEvent(IntPtr cudaEvent);
}
