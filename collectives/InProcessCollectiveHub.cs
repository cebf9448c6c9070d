using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>
/// The shared half of an in-process communicator for one epoch: device actors of one process
/// (virtual CPU devices, or several actors sharing one GPU) meet here on their own threads.
/// </summary>
/// <remarks>
/// Reductions are done in managed memory in a fixed rank order (rank 0 + rank 1 + ...), each rank
/// summing one slice of the bucket, so every replica receives bit-identical sums and runs repeat
/// exactly. Each phase is a rendezvous that checks all members issued the same operation with the
/// same size; a member that does not arrive within <see cref="Timeout"/> aborts the group for all,
/// so a lost device shows up as an exception naming the epoch and the operation, never as a hang.
/// </remarks>
public sealed class InProcessCollectiveHub
{
    private readonly object _gate = new();
    private readonly string?[] _signatures;
    private readonly byte[][] _stage;
    private byte[] _result;
    private readonly byte[][][] _small;
    private readonly byte[][] _smallSum;
    private readonly long[] _smallCount;
    private readonly long[] _waitTicks;
    private int _arrived;
    private long _generation;
    private string? _abortReason;

    /// <summary>Creates the hub for <paramref name="worldSize"/> members of epoch <paramref name="epoch"/>.</summary>
    /// <param name="bucketBytes">Size of one reduction bucket; larger buckets mean fewer rendezvous.</param>
    public InProcessCollectiveHub(long epoch, int worldSize, TimeSpan timeout, int bucketBytes = 8 << 20)
    {
        if (worldSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "a group needs at least one member");
        }
        if (bucketBytes < 64 || bucketBytes % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, "bucket size must be a positive multiple of 8 bytes");
        }
        Epoch = epoch;
        WorldSize = worldSize;
        Timeout = timeout;
        BucketBytes = bucketBytes;
        _signatures = new string?[worldSize];
        _stage = new byte[worldSize][];
        for (int r = 0; r < worldSize; r++)
        {
            _stage[r] = [];
        }
        _result = [];
        _small = [new byte[worldSize][], new byte[worldSize][]];
        _smallSum = new byte[worldSize][];
        _smallCount = new long[worldSize];
        _waitTicks = new long[worldSize];
        for (int r = 0; r < worldSize; r++)
        {
            _small[0][r] = new byte[SmallBytes];
            _small[1][r] = new byte[SmallBytes];
            _smallSum[r] = new byte[SmallBytes];
        }
    }

    /// <summary>Reductions up to this size take the one-rendezvous path.</summary>
    private const int SmallBytes = 64 << 10;

    /// <summary>Membership epoch of every group handed out by this hub.</summary>
    public long Epoch { get; }

    /// <summary>Number of members.</summary>
    public int WorldSize { get; }

    /// <summary>How long one phase waits for the slowest member before aborting the group.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Bytes per reduction bucket.</summary>
    public int BucketBytes { get; }

    /// <summary>True once aborted.</summary>
    public bool IsAborted
    {
        get
        {
            lock (_gate)
            {
                return _abortReason is not null;
            }
        }
    }

    /// <summary>The group handle for <paramref name="rank"/>; each rank joins once, from the thread that will use it.</summary>
    public ICollectiveGroup Join(int rank)
    {
        if (rank < 0 || rank >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {WorldSize})");
        }
        return new InProcessCollectiveGroup(this, rank);
    }

    /// <summary>Aborts the group: every waiting and later call throws <see cref="CollectiveAbortedException"/>.</summary>
    public void Abort(string reason)
    {
        lock (_gate)
        {
            _abortReason ??= reason;
            Monitor.PulseAll(_gate);
        }
    }

    internal void AllReduceSum(int rank, IReadOnlyList<torch.Tensor> tensors, string operation)
    {
        if (tensors.Count == 0)
        {
            Arrive(rank, operation, $"{operation}|empty");
            return;
        }
        foreach (var sameType in ByDtype(tensors))
        {
            AllReduceSumOneType(rank, sameType, operation);
        }
    }

    // Small reductions (SyncBN statistics: a few hundred values) are latency-bound. Each rank
    // writes its values into one of two alternating staging areas, meets the others once, and then
    // sums every rank's values itself in rank order: one rendezvous instead of two, and still
    // bit-identical on all ranks. The area used by reduction i is rewritten only by reduction i+2,
    // which no rank can start before every rank has passed reduction i+1's rendezvous, i.e. has
    // finished reading area i.
    private void AllReduceSmall(int rank, IReadOnlyList<torch.Tensor> tensors, torch.ScalarType dtype, int elementSize, long total, string operation)
    {
        int parity = (int)(_smallCount[rank]++ & 1);
        int bytes = (int)(total * elementSize);
        var mine = _small[parity][rank];
        CopyWindow(tensors, 0, total, elementSize, mine, toTensors: false);
        Arrive(rank, operation, $"{operation}|small-sum|{dtype}|{total}");
        var sum = _smallSum[rank];
        _small[parity][0].AsSpan(0, bytes).CopyTo(sum);
        for (int r = 1; r < WorldSize; r++)
        {
            AddInto(dtype, sum.AsSpan(0, bytes), _small[parity][r].AsSpan(0, bytes));
        }
        CopyWindow(tensors, 0, total, elementSize, sum, toTensors: true);
    }

    private static void AddInto(torch.ScalarType dtype, Span<byte> dest, ReadOnlySpan<byte> src)
    {
        switch (dtype)
        {
            case torch.ScalarType.Float32:
                AddInto(MemoryMarshal.Cast<byte, float>(dest), MemoryMarshal.Cast<byte, float>(src));
                break;
            case torch.ScalarType.Float64:
                AddInto(MemoryMarshal.Cast<byte, double>(dest), MemoryMarshal.Cast<byte, double>(src));
                break;
            case torch.ScalarType.Int32:
                AddInto(MemoryMarshal.Cast<byte, int>(dest), MemoryMarshal.Cast<byte, int>(src));
                break;
            default:
                AddInto(MemoryMarshal.Cast<byte, long>(dest), MemoryMarshal.Cast<byte, long>(src));
                break;
        }
    }

    private static void AddInto<T>(Span<T> dest, ReadOnlySpan<T> src)
        where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < dest.Length; i++)
        {
            dest[i] += src[i];
        }
    }

    internal void Broadcast(int rank, IReadOnlyList<torch.Tensor> tensors, int root, string operation)
    {
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be in [0, {WorldSize})");
        }
        if (tensors.Count == 0)
        {
            Arrive(rank, operation, $"{operation}|empty");
            return;
        }
        foreach (var sameType in ByDtype(tensors))
        {
            BroadcastOneType(rank, sameType, root, operation);
        }
    }

    // Mixed-dtype calls (a state dict holds float32 weights and int64 counters) run one pass per
    // dtype, in order of first appearance, which is the same on every rank.
    private static IEnumerable<IReadOnlyList<torch.Tensor>> ByDtype(IReadOnlyList<torch.Tensor> tensors) =>
        tensors.GroupBy(t => t.dtype).Select(g => (IReadOnlyList<torch.Tensor>)g.ToList());

    private void AllReduceSumOneType(int rank, IReadOnlyList<torch.Tensor> tensors, string operation)
    {
        var dtype = tensors[0].dtype;
        int elementSize = CheckTensors(tensors, dtype, operation);
        long total = 0;
        foreach (var t in tensors)
        {
            total += t.numel();
        }
        if (total * elementSize <= SmallBytes)
        {
            AllReduceSmall(rank, tensors, dtype, elementSize, total, operation);
            return;
        }
        long bucketElements = BucketBytes / elementSize;
        int bucket = 0;
        for (long start = 0; start < total; start += bucketElements, bucket++)
        {
            long count = Math.Min(bucketElements, total - start);
            int bytes = checked((int)(count * elementSize));
            EnsureCapacity(rank, bytes);
            CopyWindow(tensors, start, count, elementSize, _stage[rank], toTensors: false);
            Arrive(rank, operation, $"{operation}|sum|{dtype}|{total}|{bucket}");

            // Each rank sums one slice of the bucket over all ranks, always in rank order.
            long sliceStart = count * rank / WorldSize;
            long sliceEnd = count * (rank + 1) / WorldSize;
            SumSlice(dtype, (int)(sliceStart * elementSize), (int)((sliceEnd - sliceStart) * elementSize));
            Arrive(rank, operation, $"{operation}|sum-done|{bucket}");

            CopyWindow(tensors, start, count, elementSize, _result, toTensors: true);
        }
    }

    private void BroadcastOneType(int rank, IReadOnlyList<torch.Tensor> tensors, int root, string operation)
    {
        var dtype = tensors[0].dtype;
        int elementSize = CheckTensors(tensors, dtype, operation);
        long total = tensors.Sum(t => t.numel());
        long bucketElements = BucketBytes / elementSize;
        int bucket = 0;
        for (long start = 0; start < total; start += bucketElements, bucket++)
        {
            long count = Math.Min(bucketElements, total - start);
            if (rank == root)
            {
                EnsureCapacity(rank, checked((int)(count * elementSize)));
                CopyWindow(tensors, start, count, elementSize, _stage[rank], toTensors: false);
            }
            Arrive(rank, operation, $"{operation}|bcast|{root}|{dtype}|{total}|{bucket}");
            if (rank != root)
            {
                CopyWindow(tensors, start, count, elementSize, _stage[root], toTensors: true);
            }
            Arrive(rank, operation, $"{operation}|bcast-done|{bucket}");
        }
    }

    internal torch.Tensor[] AllGather(int rank, torch.Tensor tensor, string operation)
    {
        var list = new[] { tensor };
        int elementSize = CheckTensors(list, tensor.dtype, operation);
        long n = tensor.numel();
        int bytes = checked((int)(n * elementSize));
        EnsureCapacity(rank, bytes);
        CopyWindow(list, 0, n, elementSize, _stage[rank], toTensors: false);
        Arrive(rank, operation, $"{operation}|gather|{tensor.dtype}|{string.Join("x", tensor.shape)}");
        var result = new torch.Tensor[WorldSize];
        for (int r = 0; r < WorldSize; r++)
        {
            result[r] = torch.empty(tensor.shape, tensor.dtype);
            if (n > 0)
            {
                _stage[r].AsSpan(0, bytes).CopyTo(result[r].bytes);
            }
        }
        Arrive(rank, operation, $"{operation}|gather-done");
        return result;
    }

    internal void Barrier(int rank, string operation) => Arrive(rank, operation, $"{operation}|barrier");

    internal CollectiveAbortedException? AbortedError(string operation)
    {
        lock (_gate)
        {
            return _abortReason is null ? null : new CollectiveAbortedException(Epoch, operation, _abortReason);
        }
    }

    private static int CheckTensors(IReadOnlyList<torch.Tensor> tensors, torch.ScalarType dtype, string operation)
    {
        foreach (var t in tensors)
        {
            if (t.dtype != dtype)
            {
                throw new ArgumentException($"{operation}: all tensors of one call must share a dtype ({dtype} and {t.dtype} given)");
            }
            if (t.device_type != DeviceType.CPU)
            {
                throw new ArgumentException($"{operation}: the in-process group works on CPU tensors; got one on {t.device}");
            }
            if (!t.is_contiguous())
            {
                throw new ArgumentException($"{operation}: tensors must be contiguous (shape {string.Join("x", t.shape)})");
            }
        }
        return dtype switch
        {
            torch.ScalarType.Float32 or torch.ScalarType.Int32 => 4,
            torch.ScalarType.Float64 or torch.ScalarType.Int64 => 8,
            _ => throw new ArgumentException($"{operation}: dtype {dtype} is not supported (float32, float64, int32, int64)"),
        };
    }

    private void EnsureCapacity(int rank, int bytes)
    {
        // Only the owning rank resizes its own stage, between rendezvous, so no lock is needed here;
        // the result buffer is resized under the lock when the last member arrives (see Arrive).
        if (_stage[rank].Length < bytes)
        {
            _stage[rank] = new byte[Math.Max(bytes, Math.Min(BucketBytes, bytes * 2))];
        }
    }

    // Copies the window [start, start + count) of the virtual concatenation of the tensors to or from a buffer.
    private static void CopyWindow(IReadOnlyList<torch.Tensor> tensors, long start, long count, int elementSize, byte[] buffer, bool toTensors)
    {
        long offset = 0;
        long end = start + count;
        foreach (var t in tensors)
        {
            long n = t.numel();
            long lo = Math.Max(start, offset);
            long hi = Math.Min(end, offset + n);
            if (lo < hi)
            {
                Span<byte> data = t.bytes;
                var tensorPart = data.Slice((int)((lo - offset) * elementSize), (int)((hi - lo) * elementSize));
                var bufferPart = buffer.AsSpan((int)((lo - start) * elementSize), (int)((hi - lo) * elementSize));
                if (toTensors)
                {
                    bufferPart.CopyTo(tensorPart);
                }
                else
                {
                    tensorPart.CopyTo(bufferPart);
                }
            }
            offset += n;
            if (offset >= end)
            {
                break;
            }
        }
    }

    private void SumSlice(torch.ScalarType dtype, int byteOffset, int byteCount)
    {
        switch (dtype)
        {
            case torch.ScalarType.Float32:
                SumSlice<float>(byteOffset, byteCount);
                break;
            case torch.ScalarType.Float64:
                SumSlice<double>(byteOffset, byteCount);
                break;
            case torch.ScalarType.Int32:
                SumSlice<int>(byteOffset, byteCount);
                break;
            default:
                SumSlice<long>(byteOffset, byteCount);
                break;
        }
    }

    private void SumSlice<T>(int byteOffset, int byteCount)
        where T : unmanaged, INumber<T>
    {
        if (byteCount == 0)
        {
            return;
        }
        var dest = MemoryMarshal.Cast<byte, T>(_result.AsSpan(byteOffset, byteCount));
        MemoryMarshal.Cast<byte, T>(_stage[0].AsSpan(byteOffset, byteCount)).CopyTo(dest);
        for (int r = 1; r < WorldSize; r++)
        {
            var src = MemoryMarshal.Cast<byte, T>(_stage[r].AsSpan(byteOffset, byteCount));
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var vd = MemoryMarshal.Cast<T, Vector<T>>(dest);
                var vs = MemoryMarshal.Cast<T, Vector<T>>(src);
                for (int v = 0; v < vd.Length; v++)
                {
                    vd[v] += vs[v];
                }
                i = vd.Length * Vector<T>.Count;
            }
            for (; i < dest.Length; i++)
            {
                dest[i] += src[i];
            }
        }
    }

    // Devices usually arrive within microseconds of each other; parking the thread and waking it
    // again costs more than that. So a waiter first spins briefly outside the lock and only then
    // blocks. Called with the lock held; returns with it held. True when the phase completed.
    private bool SpinUntilReleased(long generation)
    {
        Monitor.Exit(_gate);
        try
        {
            long until = Stopwatch.GetTimestamp() + SpinTicks;
            var spinner = default(SpinWait);
            while (Stopwatch.GetTimestamp() < until)
            {
                if (Volatile.Read(ref _generation) != generation || Volatile.Read(ref _abortReason) is not null)
                {
                    break;
                }
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally
        {
            Monitor.Enter(_gate);
        }
        return _generation != generation;
    }

    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000;   // 50 microseconds

    /// <summary>Total time <paramref name="rank"/> has spent waiting for the other members (skew between devices plus wake-up).</summary>
    public TimeSpan WaitTime(int rank) => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _waitTicks[rank]));

    // One phase of a collective: blocks until every rank arrived with the same signature.
    private void Arrive(int rank, string operation, string signature)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            ArriveAndWait(rank, operation, signature);
        }
        finally
        {
            Interlocked.Add(ref _waitTicks[rank], Stopwatch.GetTimestamp() - started);
        }
    }

    private void ArriveAndWait(int rank, string operation, string signature)
    {
        lock (_gate)
        {
            if (_abortReason is not null)
            {
                throw new CollectiveAbortedException(Epoch, operation, _abortReason);
            }
            _signatures[rank] = signature;
            _arrived++;
            long generation = _generation;
            if (_arrived == WorldSize)
            {
                for (int r = 0; r < WorldSize; r++)
                {
                    if (_signatures[r] != signature)
                    {
                        string detail = string.Join("; ", _signatures.Select((s, i) => $"rank {i}: {s}"));
                        _abortReason = $"operation mismatch ({detail})";
                        Monitor.PulseAll(_gate);
                        throw new CollectiveMismatchException(Epoch, operation, detail);
                    }
                }
                int needed = _stage.Max(s => s.Length);
                if (_result.Length < needed)
                {
                    _result = new byte[needed];
                }
                _arrived = 0;
                Array.Clear(_signatures);
                _generation++;
                Monitor.PulseAll(_gate);
                return;
            }

            var deadline = DateTime.UtcNow + Timeout;
            if (SpinUntilReleased(generation))
            {
                return;
            }
            while (_generation == generation && _abortReason is null)
            {
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero)
                {
                    var missing = Enumerable.Range(0, WorldSize).Where(r => _signatures[r] is null).ToList();
                    var error = new CollectiveTimeoutException(Epoch, operation, Timeout, missing);
                    _abortReason = error.Message;
                    Monitor.PulseAll(_gate);
                    throw error;
                }
                Monitor.Wait(_gate, remaining);
            }
            if (_generation == generation)
            {
                throw new CollectiveAbortedException(Epoch, operation, _abortReason!);
            }
        }
    }
}
