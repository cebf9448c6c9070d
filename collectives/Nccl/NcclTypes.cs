using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GppfActors.Collectives.Nccl;

// The values and layouts below are nccl.h's (NCCL 2.17 to 2.30); NcclBindingSpecs checks each against
// the header's numbers.

/// <summary><c>ncclResult_t</c>.</summary>
public enum NcclResult
{
    Success = 0,
    UnhandledCudaError = 1,
    SystemError = 2,
    InternalError = 3,
    InvalidArgument = 4,
    InvalidUsage = 5,
    RemoteError = 6,
    InProgress = 7,
    Timeout = 8,
}

/// <summary><c>ncclDataType_t</c>.</summary>
public enum NcclDataType
{
    Int8 = 0,
    Uint8 = 1,
    Int32 = 2,
    Uint32 = 3,
    Int64 = 4,
    Uint64 = 5,
    Float16 = 6,
    Float32 = 7,
    Float64 = 8,
    Bfloat16 = 9,
}

/// <summary><c>ncclRedOp_t</c> (the built-in operations).</summary>
public enum NcclRedOp
{
    Sum = 0,
    Prod = 1,
    Max = 2,
    Min = 3,
    Avg = 4,
}

/// <summary>
/// <c>ncclUniqueId</c>: 128 opaque bytes made by rank 0's <c>ncclGetUniqueId</c> and handed to every
/// rank, passed by value to <c>ncclCommInitRankConfig</c>. Travels between processes as base64 text
/// (<see cref="ToBase64"/>) inside a <see cref="GroupSpec"/>.
/// </summary>
[InlineArray(Bytes)]
public struct NcclUniqueId
{
    /// <summary><c>NCCL_UNIQUE_ID_BYTES</c>.</summary>
    public const int Bytes = 128;

    private byte _element0;

    /// <summary>The id as base64 text (172 characters).</summary>
    public readonly string ToBase64() => Convert.ToBase64String(this);

    /// <summary>The id <paramref name="text"/> encodes; throws <see cref="ArgumentException"/> naming the problem when it is not 128 bytes of base64.</summary>
    public static NcclUniqueId FromBase64(string text)
    {
        var id = new NcclUniqueId();
        if (!Convert.TryFromBase64String(text ?? "", id, out int written) || written != Bytes)
        {
            throw new ArgumentException($"an NCCL unique id is {Bytes} bytes as base64; got '{Shorten(text)}'");
        }
        return id;
    }

    private static string Shorten(string? text) => text is null ? "(null)" : text.Length <= 24 ? text : text[..24] + "...";
}

/// <summary>
/// The versioned prefix of <c>ncclConfig_t</c> that NCCL 2.17 introduced (40 bytes on 64-bit):
/// size, magic, version, blocking, cgaClusterSize, minCTAs, maxCTAs, netName. NCCL copies
/// <see cref="Size"/> bytes of what it is given and fills every later field with its default when
/// <see cref="Version"/> predates it, so this prefix works with every NCCL since 2.17.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct NcclConfig
{
    /// <summary><c>NCCL_API_MAGIC</c>.</summary>
    public const uint ApiMagic = 0xcafebeef;

    /// <summary>NCCL_VERSION(2, 17, 0): the version of the struct this prefix is, not of the runtime.</summary>
    public const uint PrefixVersion = 21700;

    /// <summary><c>NCCL_CONFIG_UNDEF_INT</c>: let NCCL choose.</summary>
    public const int Undefined = int.MinValue;

    public nuint Size;
    public uint Magic;
    public uint Version;
    public int Blocking;
    public int CgaClusterSize;
    public int MinCTAs;
    public int MaxCTAs;
    public IntPtr NetName;

    /// <summary>NCCL_CONFIG_INITIALIZER for this prefix with <c>blocking = 0</c>: calls return <c>ncclInProgress</c> instead of blocking, so a caller can poll with a deadline and abort.</summary>
    public static unsafe NcclConfig NonBlocking() => new()
    {
        Size = (nuint)sizeof(NcclConfig),
        Magic = ApiMagic,
        Version = PrefixVersion,
        Blocking = 0,
        CgaClusterSize = Undefined,
        MinCTAs = Undefined,
        MaxCTAs = Undefined,
        NetName = IntPtr.Zero,
    };
}

/// <summary>What <c>cudaEventQuery</c> said.</summary>
internal enum CudaEventState
{
    /// <summary>cudaSuccess: all work recorded before the event has finished.</summary>
    Done,

    /// <summary>cudaErrorNotReady (600).</summary>
    NotReady,

    /// <summary>Any other error code.</summary>
    Failed,
}
