using TorchSharp;

namespace GppfActors.Collectives.Nccl;

/// <summary>
/// One rank's handle on an NCCL communicator for one membership epoch. The communicator is
/// non-blocking: every NCCL call returns at once, and the calling (device) thread polls
/// <c>ncclCommGetAsyncError</c> and a CUDA event recorded after the work until it completes or the
/// group's time-out passes; then, or on <see cref="Abort"/> from any thread, or when the watchdog
/// timer finds a call still inside NCCL at the deadline, the communicator is aborted
/// (<c>ncclCommAbort</c>) and every later call throws. Each call is one NCCL group
/// (<c>ncclGroupStart</c> .. <c>ncclGroupEnd</c>) over all its tensors, enqueued on the default
/// stream (stream 0), which is where libtorch runs the kernels that produce and consume them.
/// </summary>
/// <remarks>
/// Tensors must be contiguous and on this rank's CUDA device (<c>requireCudaTensors</c>; the specs run
/// the same logic on CPU tensors against a simulated NCCL). A call waits for its collective to finish
/// on the GPU before returning, so that a time-out belongs to the call that caused it.
/// </remarks>
public sealed class NcclGroup : ICollectiveGroup
{
    private static readonly IntPtr DefaultStream = IntPtr.Zero;

    // Spin (yielding) this long before waits may sleep: collectives of a step usually finish within it.
    private static readonly TimeSpan SpinPhase = TimeSpan.FromMilliseconds(2);

    private readonly INcclApi _api;
    private readonly TimeProvider _time;
    private readonly int _cudaDevice;
    private readonly torch.Device _tensorDevice;
    private readonly bool _requireCudaTensors;

    // Held around the short, non-blocking native calls (queries) and around abort, so that abort
    // never frees the communicator in the middle of a query; NCCL's enqueue calls run outside it so
    // that the watchdog can abort one that blocks.
    private readonly object _native = new();
    private IntPtr _comm;
    private IntPtr _event;
    private bool _abortIssued;
    private Failure? _failure;
    private long _callSerial;
    private long _waitTicks;
    private bool _disposed;

    private sealed record Failure(string Reason, long TimedOutCall, string TimedOutOperation);

    private NcclGroup(INcclApi api, long epoch, int rank, int worldSize, TimeSpan timeout, int cudaDevice,
        torch.Device tensorDevice, bool requireCudaTensors, TimeProvider time)
    {
        _api = api;
        Epoch = epoch;
        Rank = rank;
        WorldSize = worldSize;
        Timeout = timeout;
        _cudaDevice = cudaDevice;
        _tensorDevice = tensorDevice;
        _requireCudaTensors = requireCudaTensors;
        _time = time;
    }

    public long Epoch { get; }

    public int Rank { get; }

    public int WorldSize { get; }

    /// <summary>How long one call (or forming the communicator) may take.</summary>
    public TimeSpan Timeout { get; }

    public bool IsAborted => Volatile.Read(ref _failure) is not null;

    public TimeSpan WaitTime => TimeSpan.FromTicks(Interlocked.Read(ref _waitTicks));

    /// <summary>
    /// Forms this rank's communicator (<c>ncclCommInitRankConfig</c>, non-blocking) and waits until
    /// every rank has joined, at most <paramref name="timeout"/>; a rank that never joins makes it
    /// throw <see cref="CollectiveTimeoutException"/> after aborting the half-formed communicator.
    /// </summary>
    internal static NcclGroup Join(INcclApi api, long epoch, int rank, int worldSize, NcclUniqueId id, TimeSpan timeout,
        int cudaDevice, torch.Device tensorDevice, bool requireCudaTensors, TimeProvider time)
    {
        var group = new NcclGroup(api, epoch, rank, worldSize, timeout, cudaDevice, tensorDevice, requireCudaTensors, time);
        try
        {
            group.Form(id);
            return group;
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    private void Form(NcclUniqueId id)
    {
        RunBounded("join", deadline =>
        {
            CheckCuda(_api.SetDevice(_cudaDevice), "join", "cudaSetDevice");
            var config = NcclConfig.NonBlocking();
            var result = _api.CommInitRankConfig(out IntPtr comm, WorldSize, id, Rank, ref config);
            lock (_native)
            {
                _comm = comm;
                if (_failure is not null)
                {
                    // The watchdog fired while the call was still inside NCCL, before the handle existed.
                    AbortCommunicatorLocked();
                }
            }
            if (result is not (NcclResult.Success or NcclResult.InProgress) || comm == IntPtr.Zero)
            {
                throw FailWith("join", $"ncclCommInitRankConfig returned {Describe(result)}");
            }
            WaitForCommunicator("join", deadline);
            lock (_native)
            {
                _event = _api.CreateEvent();
            }
        });
    }

    public void AllReduceSum(IReadOnlyList<torch.Tensor> tensors, string operation = "all-reduce")
    {
        var buffers = tensors.Select((t, i) => Buffer.Of(t, i, operation, _requireCudaTensors, _cudaDevice, forSum: true)).ToArray();
        Grouped(operation, comm =>
        {
            foreach (var b in buffers)
            {
                Enqueued("ncclAllReduce", _api.AllReduce(b.Pointer, b.Pointer, b.Count, b.Type, NcclRedOp.Sum, comm, DefaultStream));
            }
        });
    }

    public void Broadcast(IReadOnlyList<torch.Tensor> tensors, int root, string operation = "broadcast")
    {
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), $"'{operation}': root {root} is not a rank of a group of {WorldSize}");
        }
        var buffers = tensors.Select((t, i) => Buffer.Of(t, i, operation, _requireCudaTensors, _cudaDevice, forSum: false)).ToArray();
        Grouped(operation, comm =>
        {
            foreach (var b in buffers)
            {
                Enqueued("ncclBroadcast", _api.Broadcast(b.Pointer, b.Pointer, b.Count, b.Type, root, comm, DefaultStream));
            }
        });
    }

    public torch.Tensor[] AllGather(torch.Tensor tensor, string operation = "all-gather")
    {
        var send = Buffer.Of(tensor, 0, operation, _requireCudaTensors, _cudaDevice, forSum: false);
        long[] shape = [WorldSize, .. tensor.shape];
        using var gathered = torch.empty(shape, tensor.dtype, tensor.device);
        var receive = Buffer.Of(gathered, 0, operation, _requireCudaTensors, _cudaDevice, forSum: false);
        Grouped(operation, comm =>
            Enqueued("ncclAllGather", _api.AllGather(send.Pointer, receive.Pointer, send.Count, send.Type, comm, DefaultStream)));
        return [.. Enumerable.Range(0, WorldSize).Select(r => gathered[r])];
    }

    public void Barrier(string operation = "barrier")
    {
        using var token = torch.zeros(1, torch.float32, _tensorDevice);
        AllReduceSum([token], operation);
    }

    public void Abort(string reason) => Fail(reason, timedOutCall: -1, timedOutOperation: "");

    public void Dispose()
    {
        lock (_native)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            if (_comm != IntPtr.Zero && !_abortIssued && _failure is null)
            {
                // A healthy communicator is destroyed in good order; one that fails to be is aborted.
                if (_api.CommDestroy(_comm) != NcclResult.Success)
                {
                    _api.CommAbort(_comm);
                }
                _comm = IntPtr.Zero;
            }
            else if (_failure is null)
            {
                _failure = new Failure("the group was disposed", -1, "");
            }
            if (_event != IntPtr.Zero)
            {
                _api.DestroyEvent(_event);
                _event = IntPtr.Zero;
            }
        }
    }

    /// <summary>One NCCL group on the default stream, then a wait for its completion on the GPU.</summary>
    private void Grouped(string operation, Action<IntPtr> enqueue)
    {
        RunBounded(operation, deadline =>
        {
            IntPtr comm;
            lock (_native)
            {
                ThrowIfFailed(operation);
                comm = _comm;
            }
            CheckCuda(_api.SetDevice(_cudaDevice), operation, "cudaSetDevice");
            var start = _api.GroupStart();
            if (start != NcclResult.Success)
            {
                throw FailWith(operation, $"ncclGroupStart returned {Describe(start)}");
            }
            NcclResult end;
            string? enqueueFailure = null;
            try
            {
                enqueue(comm);
            }
            catch (EnqueueFailed e)
            {
                enqueueFailure = e.Message;
            }
            finally
            {
                // A group that was opened is always closed, also when an enqueue failed, and before
                // this rank aborts the communicator for that failure.
                end = _api.GroupEnd();
            }
            if (enqueueFailure is not null)
            {
                throw FailWith(operation, enqueueFailure);
            }
            if (end == NcclResult.InProgress)
            {
                WaitForCommunicator(operation, deadline);
            }
            else if (end != NcclResult.Success)
            {
                throw FailWith(operation, $"ncclGroupEnd returned {Describe(end)}");
            }
            lock (_native)
            {
                ThrowIfFailed(operation);
                CheckCuda(_api.RecordEvent(_event, DefaultStream), operation, "cudaEventRecord");
            }
            WaitForEvent(operation, deadline);
        });
    }

    /// <summary>
    /// Runs one bounded call: a deadline for the polls inside and a watchdog timer that aborts the
    /// communicator if the call is still running at the deadline (a native call that blocks).
    /// </summary>
    private void RunBounded(string operation, Action<Deadline> body)
    {
        long call = Interlocked.Increment(ref _callSerial);
        lock (_native)
        {
            ThrowIfFailed(operation, call);
        }
        var deadline = Deadline.After(_time, Timeout);
        long started = _time.GetTimestamp();
        using var watchdog = _time.CreateTimer(_ => Fail($"watchdog: '{operation}' was still running after {Timeout.TotalSeconds:0.###} s", call, operation),
            null, Timeout, System.Threading.Timeout.InfiniteTimeSpan);
        try
        {
            body(deadline);
        }
        catch (CollectiveException)
        {
            throw;
        }
        catch (Exception) when (Volatile.Read(ref _failure) is not null)
        {
            // A native call that the abort released reports its own error; the abort is the cause.
            lock (_native)
            {
                ThrowIfFailed(operation, call);
            }
            throw;
        }
        finally
        {
            Interlocked.Add(ref _waitTicks, _time.GetElapsedTime(started).Ticks);
        }
        lock (_native)
        {
            ThrowIfFailed(operation, call);
        }
    }

    private void WaitForCommunicator(string operation, Deadline deadline) =>
        Poll(operation, deadline, () =>
        {
            var result = _api.CommGetAsyncError(_comm, out var state);
            if (result != NcclResult.Success)
            {
                throw FailWith(operation, $"ncclCommGetAsyncError returned {Describe(result)}");
            }
            return state switch
            {
                NcclResult.Success => true,
                NcclResult.InProgress => false,
                _ => throw FailWith(operation, $"the communicator reported {Describe(state)}"),
            };
        });

    private void WaitForEvent(string operation, Deadline deadline) =>
        Poll(operation, deadline, () =>
        {
            switch (_api.QueryEvent(_event))
            {
                case CudaEventState.Done:
                    return true;
                case CudaEventState.Failed:
                    throw FailWith(operation, "cudaEventQuery reported an error");
            }
            // While the GPU works, a peer's failure shows up here rather than as a hang.
            if (_api.CommGetAsyncError(_comm, out var state) == NcclResult.Success && state is not (NcclResult.Success or NcclResult.InProgress))
            {
                throw FailWith(operation, $"the communicator reported {Describe(state)}");
            }
            return false;
        });

    private void Poll(string operation, Deadline deadline, Func<bool> done)
    {
        var spin = new SpinWait();
        long started = _time.GetTimestamp();
        long call = Interlocked.Read(ref _callSerial);
        while (true)
        {
            lock (_native)
            {
                ThrowIfFailed(operation, call);
                if (done())
                {
                    return;
                }
            }
            if (deadline.HasPassed)
            {
                Fail($"'{operation}' did not complete within {Timeout.TotalSeconds:0.###} s", call, operation);
                lock (_native)
                {
                    ThrowIfFailed(operation, call);
                }
            }
            spin.SpinOnce(_time.GetElapsedTime(started) < SpinPhase ? -1 : 20);
        }
    }

    private void Fail(string reason, long timedOutCall, string timedOutOperation)
    {
        lock (_native)
        {
            if (_failure is not null)
            {
                return;
            }
            _failure = new Failure(reason, timedOutCall, timedOutOperation);
            AbortCommunicatorLocked();
        }
    }

    private void AbortCommunicatorLocked()
    {
        if (_comm == IntPtr.Zero || _abortIssued)
        {
            return;
        }
        _abortIssued = true;
        // The communicator is gone after this whatever NCCL answers; it frees its resources and
        // stops its kernels, which releases a thread blocked in it.
        _api.CommAbort(_comm);
    }

    /// <summary>
    /// Records a failure found by this rank and aborts, then returns the exception for the caller to
    /// throw: the first failure's (a watchdog's time-out that released the failing native call wins
    /// over the error that call returned).
    /// </summary>
    private CollectiveException FailWith(string operation, string detail)
    {
        Fail($"{detail} in '{operation}'", -1, "");
        return ExceptionFor(operation, Interlocked.Read(ref _callSerial))!;
    }

    private void ThrowIfFailed(string operation, long call = -1)
    {
        if (ExceptionFor(operation, call) is { } error)
        {
            throw error;
        }
    }

    private CollectiveException? ExceptionFor(string operation, long call)
    {
        var failure = Volatile.Read(ref _failure);
        if (failure is null)
        {
            return null;
        }
        if (failure.TimedOutCall >= 0 && failure.TimedOutCall == call)
        {
            // NCCL cannot say which peer is missing; every other rank is a candidate.
            return new CollectiveTimeoutException(Epoch, operation, Timeout, [.. Enumerable.Range(0, WorldSize).Where(r => r != Rank)]);
        }
        return new CollectiveAbortedException(Epoch, operation, failure.Reason);
    }

    // Inside an open NCCL group a failed enqueue only ends the enqueueing; the abort follows once
    // the group is closed.
    private void Enqueued(string call, NcclResult result)
    {
        if (result is not (NcclResult.Success or NcclResult.InProgress))
        {
            throw new EnqueueFailed($"{call} returned {Describe(result)}");
        }
    }

    private sealed class EnqueueFailed(string message) : Exception(message);

    private void CheckCuda(int error, string operation, string call)
    {
        if (error != 0)
        {
            throw FailWith(operation, $"{call} returned CUDA error {error}");
        }
    }

    private string Describe(NcclResult result) => $"{result} ({_api.ErrorString(result)})";

    /// <summary>A tensor as NCCL sees it: device pointer, element count, element type.</summary>
    private readonly record struct Buffer(IntPtr Pointer, ulong Count, NcclDataType Type)
    {
        public static Buffer Of(torch.Tensor tensor, int index, string operation, bool requireCuda, int cudaDevice, bool forSum)
        {
            if (requireCuda && (tensor.device_type != DeviceType.CUDA || tensor.device_index != cudaDevice))
            {
                throw new ArgumentException($"'{operation}': tensor {index} is on {tensor.device}; this NCCL group works on cuda:{cudaDevice}");
            }
            if (!tensor.is_contiguous())
            {
                throw new ArgumentException($"'{operation}': tensor {index} is not contiguous");
            }
            var type = NcclTypes.Of(tensor.dtype, forSum)
                ?? throw new ArgumentException($"'{operation}': tensor {index} has element type {tensor.dtype}, which the NCCL group does not {(forSum ? "sum" : "carry")}");
            return new Buffer(TensorAddress.Of(tensor), (ulong)tensor.numel(), type);
        }
    }
}
