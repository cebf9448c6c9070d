using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using GppfActors.Collectives.Nccl;
using Xunit;

namespace GppfActors.Collectives.Tests;

/// <summary>
/// The NCCL binding against nccl.h: enum values, struct sizes and field offsets as the header
/// defines them (NCCL 2.17 to 2.30 agree on all of these), and the marshalling of every call, seen
/// by managed functions that stand in for the library's exports and record what arrives.
/// </summary>
public unsafe class NcclBindingSpecs
{
    [Fact]
    public void Should_match_the_headers_result_type_and_operation_values()
    {
        // ncclResult_t
        Assert.Equal(0, (int)NcclResult.Success);
        Assert.Equal(1, (int)NcclResult.UnhandledCudaError);
        Assert.Equal(2, (int)NcclResult.SystemError);
        Assert.Equal(3, (int)NcclResult.InternalError);
        Assert.Equal(4, (int)NcclResult.InvalidArgument);
        Assert.Equal(5, (int)NcclResult.InvalidUsage);
        Assert.Equal(6, (int)NcclResult.RemoteError);
        Assert.Equal(7, (int)NcclResult.InProgress);
        Assert.Equal(8, (int)NcclResult.Timeout);
        // ncclDataType_t
        int[] types = [.. new[]
        {
            NcclDataType.Int8, NcclDataType.Uint8, NcclDataType.Int32, NcclDataType.Uint32, NcclDataType.Int64,
            NcclDataType.Uint64, NcclDataType.Float16, NcclDataType.Float32, NcclDataType.Float64, NcclDataType.Bfloat16,
        }.Select(t => (int)t)];
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], types);
        // ncclRedOp_t
        Assert.Equal([0, 1, 2, 3, 4], new[] { NcclRedOp.Sum, NcclRedOp.Prod, NcclRedOp.Max, NcclRedOp.Min, NcclRedOp.Avg }.Select(o => (int)o));
        // Enums travel as C enums: 4 bytes.
        Assert.Equal(4, sizeof(NcclResult));
        Assert.Equal(4, sizeof(NcclDataType));
        Assert.Equal(4, sizeof(NcclRedOp));
    }

    [Fact]
    public void Should_lay_out_the_unique_id_and_the_config_prefix_as_the_header_does()
    {
        // NCCL_UNIQUE_ID_BYTES
        Assert.Equal(128, sizeof(NcclUniqueId));
        Assert.Equal(128, Unsafe.SizeOf<NcclUniqueId>());
        // ncclConfig_v21700 on LP64: size_t size; unsigned magic, version; int blocking, cgaClusterSize, minCTAs, maxCTAs; const char* netName.
        Assert.Equal(40, sizeof(NcclConfig));
        Assert.Equal(40, Marshal.SizeOf<NcclConfig>());
        Assert.Equal(0, (int)Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.Size)));
        Assert.Equal(8, (int)Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.Magic)));
        Assert.Equal(12, (int)Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.Version)));
        Assert.Equal(16, (int)Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.Blocking)));
        Assert.Equal(20, (int)Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.CgaClusterSize)));
        Assert.Equal(24, (int)Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.MinCTAs)));
        Assert.Equal(28, (int)Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.MaxCTAs)));
        Assert.Equal(32, (int)Marshal.OffsetOf<NcclConfig>(nameof(NcclConfig.NetName)));
    }

    [Fact]
    public void Should_initialise_the_config_as_NCCL_CONFIG_INITIALIZER_with_blocking_off()
    {
        var config = NcclConfig.NonBlocking();
        Assert.Equal((nuint)40, config.Size);
        Assert.Equal(0xcafebeefu, config.Magic);
        Assert.Equal(21700u, config.Version); // NCCL_VERSION(2, 17, 0) = 2 * 10000 + 17 * 100 + 0
        Assert.Equal(0, config.Blocking);
        Assert.Equal(int.MinValue, config.CgaClusterSize); // NCCL_CONFIG_UNDEF_INT = INT_MIN
        Assert.Equal(int.MinValue, config.MinCTAs);
        Assert.Equal(int.MinValue, config.MaxCTAs);
        Assert.Equal(IntPtr.Zero, config.NetName); // NCCL_CONFIG_UNDEF_PTR = NULL
    }

    [Fact]
    public void Should_round_trip_the_unique_id_through_base64_text()
    {
        var id = new NcclUniqueId();
        for (int i = 0; i < NcclUniqueId.Bytes; i++)
        {
            id[i] = (byte)(i * 7 + 3);
        }
        string text = id.ToBase64();
        Assert.Equal(172, text.Length);
        var back = NcclUniqueId.FromBase64(text);
        Assert.True(((ReadOnlySpan<byte>)back).SequenceEqual(id));
        Assert.Contains("128 bytes", Assert.Throws<ArgumentException>(() => NcclUniqueId.FromBase64(Convert.ToBase64String(new byte[127]))).Message);
    }

    // ---- the library's exports, played by managed functions ----

    private static readonly List<string> Seen = [];
    private static byte[] s_initId = [];
    private static NcclConfig s_initConfig;
    private static int s_initRanks;
    private static int s_initRank;

    [UnmanagedCallersOnly]
    private static NcclResult GetVersion(int* version)
    {
        *version = 22903;
        return NcclResult.Success;
    }

    [UnmanagedCallersOnly]
    private static NcclResult GetUniqueId(NcclUniqueId* id)
    {
        for (int i = 0; i < NcclUniqueId.Bytes; i++)
        {
            (*id)[i] = (byte)(255 - i);
        }
        return NcclResult.Success;
    }

    [UnmanagedCallersOnly]
    private static NcclResult CommInitRankConfig(IntPtr* comm, int numRanks, NcclUniqueId id, int rank, NcclConfig* config)
    {
        s_initId = ((ReadOnlySpan<byte>)id).ToArray();
        s_initConfig = *config;
        s_initRanks = numRanks;
        s_initRank = rank;
        *comm = 0xC0;
        return NcclResult.InProgress;
    }

    [UnmanagedCallersOnly]
    private static NcclResult GroupStart()
    {
        Seen.Add("groupStart");
        return NcclResult.Success;
    }

    [UnmanagedCallersOnly]
    private static NcclResult GroupEnd()
    {
        Seen.Add("groupEnd");
        return NcclResult.InProgress;
    }

    [UnmanagedCallersOnly]
    private static NcclResult AllReduce(IntPtr send, IntPtr receive, nuint count, NcclDataType type, NcclRedOp op, IntPtr comm, IntPtr stream)
    {
        Seen.Add($"allReduce {send:x} {receive:x} {count} {type} {op} {comm:x} {stream:x}");
        return NcclResult.Success;
    }

    [UnmanagedCallersOnly]
    private static NcclResult Broadcast(IntPtr send, IntPtr receive, nuint count, NcclDataType type, int root, IntPtr comm, IntPtr stream)
    {
        Seen.Add($"broadcast {send:x} {receive:x} {count} {type} {root} {comm:x} {stream:x}");
        return NcclResult.Success;
    }

    [UnmanagedCallersOnly]
    private static NcclResult AllGather(IntPtr send, IntPtr receive, nuint count, NcclDataType type, IntPtr comm, IntPtr stream)
    {
        Seen.Add($"allGather {send:x} {receive:x} {count} {type} {comm:x} {stream:x}");
        return NcclResult.Success;
    }

    [UnmanagedCallersOnly]
    private static NcclResult CommGetAsyncError(IntPtr comm, NcclResult* state)
    {
        Seen.Add($"asyncError {comm:x}");
        *state = NcclResult.RemoteError;
        return NcclResult.Success;
    }

    [UnmanagedCallersOnly]
    private static NcclResult CommAbort(IntPtr comm)
    {
        Seen.Add($"abort {comm:x}");
        return NcclResult.Success;
    }

    [UnmanagedCallersOnly]
    private static NcclResult CommDestroy(IntPtr comm)
    {
        Seen.Add($"destroy {comm:x}");
        return NcclResult.Success;
    }

    private static readonly IntPtr ErrorText = Marshal.StringToCoTaskMemUTF8("remote process exited or there was a network error");

    [UnmanagedCallersOnly]
    private static byte* GetErrorString(NcclResult result) => result == NcclResult.RemoteError ? (byte*)ErrorText : null;

    [UnmanagedCallersOnly]
    private static int SetDevice(int ordinal)
    {
        Seen.Add($"setDevice {ordinal}");
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int EventCreateWithFlags(IntPtr* cudaEvent, uint flags)
    {
        Seen.Add($"eventCreate {flags}");
        *cudaEvent = 0xE0;
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int EventRecord(IntPtr cudaEvent, IntPtr stream)
    {
        Seen.Add($"eventRecord {cudaEvent:x} {stream:x}");
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int EventQuery(IntPtr cudaEvent) => cudaEvent == 0xE0 ? 600 : 0; // cudaErrorNotReady

    [UnmanagedCallersOnly]
    private static int EventDestroy(IntPtr cudaEvent) => 0;

    private static readonly Dictionary<string, IntPtr> NcclExports = new()
    {
        ["ncclGetVersion"] = (IntPtr)(delegate* unmanaged<int*, NcclResult>)&GetVersion,
        ["ncclGetUniqueId"] = (IntPtr)(delegate* unmanaged<NcclUniqueId*, NcclResult>)&GetUniqueId,
        ["ncclCommInitRankConfig"] = (IntPtr)(delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, NcclConfig*, NcclResult>)&CommInitRankConfig,
        ["ncclGroupStart"] = (IntPtr)(delegate* unmanaged<NcclResult>)&GroupStart,
        ["ncclGroupEnd"] = (IntPtr)(delegate* unmanaged<NcclResult>)&GroupEnd,
        ["ncclAllReduce"] = (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, nuint, NcclDataType, NcclRedOp, IntPtr, IntPtr, NcclResult>)&AllReduce,
        ["ncclBroadcast"] = (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, nuint, NcclDataType, int, IntPtr, IntPtr, NcclResult>)&Broadcast,
        ["ncclAllGather"] = (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, nuint, NcclDataType, IntPtr, IntPtr, NcclResult>)&AllGather,
        ["ncclCommGetAsyncError"] = (IntPtr)(delegate* unmanaged<IntPtr, NcclResult*, NcclResult>)&CommGetAsyncError,
        ["ncclCommAbort"] = (IntPtr)(delegate* unmanaged<IntPtr, NcclResult>)&CommAbort,
        ["ncclCommDestroy"] = (IntPtr)(delegate* unmanaged<IntPtr, NcclResult>)&CommDestroy,
        ["ncclGetErrorString"] = (IntPtr)(delegate* unmanaged<NcclResult, byte*>)&GetErrorString,
    };

    private static readonly Dictionary<string, IntPtr> CudaExports = new()
    {
        ["cudaSetDevice"] = (IntPtr)(delegate* unmanaged<int, int>)&SetDevice,
        ["cudaEventCreateWithFlags"] = (IntPtr)(delegate* unmanaged<IntPtr*, uint, int>)&EventCreateWithFlags,
        ["cudaEventRecord"] = (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, int>)&EventRecord,
        ["cudaEventQuery"] = (IntPtr)(delegate* unmanaged<IntPtr, int>)&EventQuery,
        ["cudaEventDestroy"] = (IntPtr)(delegate* unmanaged<IntPtr, int>)&EventDestroy,
    };

    private static NcclLibrary Library() =>
        new(name => NcclExports.GetValueOrDefault(name), name => CudaExports.GetValueOrDefault(name));

    [Fact]
    public void Should_pass_the_unique_id_by_value_and_the_config_by_pointer_to_comm_init()
    {
        var library = Library();
        var id = library.GetUniqueId();
        Assert.Equal(255, id[0]);
        Assert.Equal(128, id[127]);
        var config = NcclConfig.NonBlocking();
        var result = library.CommInitRankConfig(out IntPtr comm, 4, id, 3, ref config);
        Assert.Equal(NcclResult.InProgress, result);
        Assert.Equal((IntPtr)0xC0, comm);
        Assert.Equal(((ReadOnlySpan<byte>)id).ToArray(), s_initId);
        Assert.Equal(4, s_initRanks);
        Assert.Equal(3, s_initRank);
        Assert.Equal(config.Size, s_initConfig.Size);
        Assert.Equal(config.Magic, s_initConfig.Magic);
        Assert.Equal(config.Version, s_initConfig.Version);
        Assert.Equal(0, s_initConfig.Blocking);
        Assert.Equal(22903, library.GetVersion());
    }

    [Fact]
    public void Should_pass_every_collective_argument_in_the_headers_order_and_width()
    {
        Seen.Clear();
        var library = Library();
        // A count above 2^32 shows size_t is passed as 64 bits.
        const ulong big = (1UL << 33) + 5;
        Assert.Equal(NcclResult.Success, library.GroupStart());
        library.AllReduce(0x1000, 0x2000, big, NcclDataType.Float64, NcclRedOp.Max, 0xC0, 0x0);
        library.Broadcast(0x3000, 0x4000, 7, NcclDataType.Bfloat16, 2, 0xC0, 0x55);
        library.AllGather(0x5000, 0x6000, 9, NcclDataType.Int64, 0xC0, 0x0);
        Assert.Equal(NcclResult.InProgress, library.GroupEnd());
        Assert.Equal(NcclResult.Success, library.CommGetAsyncError(0xC0, out var state));
        Assert.Equal(NcclResult.RemoteError, state);
        Assert.Equal("remote process exited or there was a network error", library.ErrorString(NcclResult.RemoteError));
        Assert.Equal(0, library.SetDevice(1));
        IntPtr cudaEvent = library.CreateEvent();
        Assert.Equal(0, library.RecordEvent(cudaEvent, 0));
        Assert.Equal(CudaEventState.NotReady, library.QueryEvent(cudaEvent));
        Assert.Equal(CudaEventState.Done, library.QueryEvent(0xE1));
        library.CommAbort(0xC0);
        library.CommDestroy(0xC1);
        Assert.Equal(
        [
            "groupStart",
            $"allReduce 1000 2000 {big} Float64 Max c0 0",
            "broadcast 3000 4000 7 Bfloat16 2 c0 55",
            "allGather 5000 6000 9 Int64 c0 0",
            "groupEnd",
            "asyncError c0",
            "setDevice 1",
            "eventCreate 2", // cudaEventDisableTiming
            "eventRecord e0 0",
            "abort c0",
            "destroy c1",
        ], Seen);
    }

    [Fact]
    public void Should_name_the_missing_export_when_the_library_lacks_one()
    {
        var error = Assert.Throws<NcclUnavailableException>(() => new NcclLibrary(
            name => name == "ncclCommInitRankConfig" ? IntPtr.Zero : NcclExports.GetValueOrDefault(name),
            name => CudaExports.GetValueOrDefault(name)));
        Assert.Contains("ncclCommInitRankConfig", error.Message);
    }
}
