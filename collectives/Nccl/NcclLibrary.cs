using System.Runtime.InteropServices;
using GppfActors.Collectives.Native;

namespace GppfActors.Collectives.Nccl;

/// <summary>
/// The P/Invoke binding: function pointers taken from <c>libnccl.so.2</c> and <c>libcudart</c> by
/// export name. The libraries are found in the PyTorch installation (its <c>torch/lib</c>, or pip's
/// <c>nvidia/*/lib</c>), not by the loader's search path, because PyTorch keeps them outside it.
/// Resolving through a function (<see cref="NcclLibrary(Func{string, IntPtr}, Func{string, IntPtr})"/>)
/// lets the marshalling specs stand managed <c>UnmanagedCallersOnly</c> functions in for the
/// libraries and see exactly what each call passes.
/// </summary>
internal sealed unsafe class NcclLibrary : INcclApi
{
    // cudaEventDisableTiming: the event only orders and signals; no timestamp is taken.
    private const uint CudaEventDisableTiming = 0x02;
    private const int CudaErrorNotReady = 600;

    private readonly delegate* unmanaged<int*, NcclResult> _getVersion;
    private readonly delegate* unmanaged<NcclUniqueId*, NcclResult> _getUniqueId;
    private readonly delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, NcclConfig*, NcclResult> _commInitRankConfig;
    private readonly delegate* unmanaged<NcclResult> _groupStart;
    private readonly delegate* unmanaged<NcclResult> _groupEnd;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, NcclDataType, NcclRedOp, IntPtr, IntPtr, NcclResult> _allReduce;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, NcclDataType, int, IntPtr, IntPtr, NcclResult> _broadcast;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, NcclDataType, IntPtr, IntPtr, NcclResult> _allGather;
    private readonly delegate* unmanaged<IntPtr, NcclResult*, NcclResult> _commGetAsyncError;
    private readonly delegate* unmanaged<IntPtr, NcclResult> _commAbort;
    private readonly delegate* unmanaged<IntPtr, NcclResult> _commDestroy;
    private readonly delegate* unmanaged<NcclResult, byte*> _getErrorString;
    private readonly delegate* unmanaged<int, int> _cudaSetDevice;
    private readonly delegate* unmanaged<IntPtr*, uint, int> _cudaEventCreateWithFlags;
    private readonly delegate* unmanaged<IntPtr, IntPtr, int> _cudaEventRecord;
    private readonly delegate* unmanaged<IntPtr, int> _cudaEventQuery;
    private readonly delegate* unmanaged<IntPtr, int> _cudaEventDestroy;

    /// <summary>Binds every function through <paramref name="nccl"/> and <paramref name="cudart"/>, which map an export name to its address (zero: missing).</summary>
    public NcclLibrary(Func<string, IntPtr> nccl, Func<string, IntPtr> cudart)
    {
        _getVersion = (delegate* unmanaged<int*, NcclResult>)Need(nccl, "ncclGetVersion");
        _getUniqueId = (delegate* unmanaged<NcclUniqueId*, NcclResult>)Need(nccl, "ncclGetUniqueId");
        _commInitRankConfig = (delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, NcclConfig*, NcclResult>)Need(nccl, "ncclCommInitRankConfig");
        _groupStart = (delegate* unmanaged<NcclResult>)Need(nccl, "ncclGroupStart");
        _groupEnd = (delegate* unmanaged<NcclResult>)Need(nccl, "ncclGroupEnd");
        _allReduce = (delegate* unmanaged<IntPtr, IntPtr, nuint, NcclDataType, NcclRedOp, IntPtr, IntPtr, NcclResult>)Need(nccl, "ncclAllReduce");
        _broadcast = (delegate* unmanaged<IntPtr, IntPtr, nuint, NcclDataType, int, IntPtr, IntPtr, NcclResult>)Need(nccl, "ncclBroadcast");
        _allGather = (delegate* unmanaged<IntPtr, IntPtr, nuint, NcclDataType, IntPtr, IntPtr, NcclResult>)Need(nccl, "ncclAllGather");
        _commGetAsyncError = (delegate* unmanaged<IntPtr, NcclResult*, NcclResult>)Need(nccl, "ncclCommGetAsyncError");
        _commAbort = (delegate* unmanaged<IntPtr, NcclResult>)Need(nccl, "ncclCommAbort");
        _commDestroy = (delegate* unmanaged<IntPtr, NcclResult>)Need(nccl, "ncclCommDestroy");
        _getErrorString = (delegate* unmanaged<NcclResult, byte*>)Need(nccl, "ncclGetErrorString");
        _cudaSetDevice = (delegate* unmanaged<int, int>)Need(cudart, "cudaSetDevice");
        _cudaEventCreateWithFlags = (delegate* unmanaged<IntPtr*, uint, int>)Need(cudart, "cudaEventCreateWithFlags");
        _cudaEventRecord = (delegate* unmanaged<IntPtr, IntPtr, int>)Need(cudart, "cudaEventRecord");
        _cudaEventQuery = (delegate* unmanaged<IntPtr, int>)Need(cudart, "cudaEventQuery");
        _cudaEventDestroy = (delegate* unmanaged<IntPtr, int>)Need(cudart, "cudaEventDestroy");
    }

    /// <summary>
    /// Loads <c>libnccl.so.2</c> and <c>libcudart.so.*</c> from <paramref name="installation"/>;
    /// throws <see cref="NcclUnavailableException"/> naming what is missing.
    /// </summary>
    public static NcclLibrary Open(PyTorchInstallation installation)
    {
        string ncclPath = installation.FindLibrary("libnccl.so")
            ?? throw new NcclUnavailableException($"no libnccl.so.2 in {string.Join(", ", installation.NativeSearchDirs())} (PyTorch's CUDA wheels bring it as nvidia-nccl-cu*)");
        string cudartPath = installation.FindLibrary("libcudart.so")
            ?? throw new NcclUnavailableException($"no libcudart.so.* in {string.Join(", ", installation.NativeSearchDirs())} (PyTorch's CUDA wheels bring it as nvidia-cuda-runtime-cu*)");
        IntPtr nccl = LoadOrExplain(ncclPath);
        IntPtr cudart = LoadOrExplain(cudartPath);
        return new NcclLibrary(
            name => NativeLibrary.TryGetExport(nccl, name, out var address) ? address : IntPtr.Zero,
            name => NativeLibrary.TryGetExport(cudart, name, out var address) ? address : IntPtr.Zero);
    }

    private static IntPtr LoadOrExplain(string path)
    {
        try
        {
            return NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            throw new NcclUnavailableException($"{path} does not load: {e.Message}");
        }
    }

    private static IntPtr Need(Func<string, IntPtr> resolve, string name)
    {
        IntPtr address = resolve(name);
        return address != IntPtr.Zero ? address
            : throw new NcclUnavailableException($"the library has no export '{name}' (NCCL 2.17 or newer and a CUDA runtime are needed)");
    }

    public int GetVersion()
    {
        int version;
        var result = _getVersion(&version);
        return result == NcclResult.Success ? version : throw new NcclUnavailableException($"ncclGetVersion failed: {ErrorString(result)}");
    }

    public NcclUniqueId GetUniqueId()
    {
        NcclUniqueId id;
        var result = _getUniqueId(&id);
        return result == NcclResult.Success ? id : throw new NcclUnavailableException($"ncclGetUniqueId failed: {ErrorString(result)}");
    }

    public NcclResult CommInitRankConfig(out IntPtr comm, int numRanks, NcclUniqueId id, int rank, ref NcclConfig config)
    {
        IntPtr handle = IntPtr.Zero;
        NcclResult result;
        fixed (NcclConfig* pointer = &config)
        {
            result = _commInitRankConfig(&handle, numRanks, id, rank, pointer);
        }
        comm = handle;
        return result;
    }

    public NcclResult GroupStart() => _groupStart();

    public NcclResult GroupEnd() => _groupEnd();

    public NcclResult AllReduce(IntPtr send, IntPtr receive, ulong count, NcclDataType type, NcclRedOp op, IntPtr comm, IntPtr stream) =>
        _allReduce(send, receive, (nuint)count, type, op, comm, stream);

    public NcclResult Broadcast(IntPtr send, IntPtr receive, ulong count, NcclDataType type, int root, IntPtr comm, IntPtr stream) =>
        _broadcast(send, receive, (nuint)count, type, root, comm, stream);

    public NcclResult AllGather(IntPtr send, IntPtr receive, ulong sendCount, NcclDataType type, IntPtr comm, IntPtr stream) =>
        _allGather(send, receive, (nuint)sendCount, type, comm, stream);

    public NcclResult CommGetAsyncError(IntPtr comm, out NcclResult asyncError)
    {
        NcclResult state = NcclResult.Success;
        var result = _commGetAsyncError(comm, &state);
        asyncError = state;
        return result;
    }

    public NcclResult CommAbort(IntPtr comm) => _commAbort(comm);

    public NcclResult CommDestroy(IntPtr comm) => _commDestroy(comm);

    public string ErrorString(NcclResult result) =>
        Marshal.PtrToStringUTF8((IntPtr)_getErrorString(result)) ?? result.ToString();

    public int SetDevice(int ordinal) => _cudaSetDevice(ordinal);

    public IntPtr CreateEvent()
    {
        IntPtr cudaEvent = IntPtr.Zero;
        int error = _cudaEventCreateWithFlags(&cudaEvent, CudaEventDisableTiming);
        return error == 0 ? cudaEvent : throw new NcclUnavailableException($"cudaEventCreateWithFlags failed with CUDA error {error}");
    }

    public int RecordEvent(IntPtr cudaEvent, IntPtr stream) => _cudaEventRecord(cudaEvent, stream);

    public CudaEventState QueryEvent(IntPtr cudaEvent) => _cudaEventQuery(cudaEvent) switch
    {
        0 => CudaEventState.Done,
        CudaErrorNotReady => CudaEventState.NotReady,
        _ => CudaEventState.Failed,
    };

    public void DestroyEvent(IntPtr cudaEvent) => _cudaEventDestroy(cudaEvent);
}

/// <summary>NCCL or the CUDA runtime cannot be used in this process; the message says what is missing.</summary>
public sealed class NcclUnavailableException(string message) : Exception(message);
