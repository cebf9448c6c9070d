using System.Diagnostics;
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
    private readonly TimeProvider _time;
    private int _arrived;
    private long _generation;
    private string? _abortReason;
    private CollectiveException? _firstError;

    /// <summary>Creates the hub for <paramref name="worldSize"/> members of epoch <paramref name="epoch"/>.</summary>
    /// <param name="bucketBytes">Size of one reduction bucket; larger buckets mean fewer rendezvous.</param>
    /// <param name="timeProvider">Monotonic clock for time-outs (<see cref="TimeProvider.GetTimestamp"/>); the system's by default.</param>
    public InProcessCollectiveHub(long epoch, int worldSize, TimeSpan timeout, int bucketBytes = 8 << 20, TimeProvider? timeProvider = null)
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
        _time = timeProvider ?? TimeProvider.System;
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
            if (_abortReason is null)
            {
                _abortReason = reason;
                _firstError = new CollectiveAbortedException(Epoch, "abort", reason);
            }
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
        foreach (var sameType in BucketPacking.ByDtype(tensors))
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
        BucketPacking.Pack(tensors, 0, total, elementSize, mine);
        Arrive(rank, operation, $"{operation}|small-sum|{dtype}|{total}");
        var sum = _smallSum[rank];
        _small[parity][0].AsSpan(0, bytes).CopyTo(sum);
        for (int r = 1; r < WorldSize; r++)
        {
            ElementwiseSum.AddInto(dtype, sum.AsSpan(0, bytes), _small[parity][r].AsSpan(0, bytes));
        }
        BucketPacking.Unpack(sum.AsSpan(0, bytes), tensors, 0, total, elementSize);
    }

    // A non-null timeout replaces the hub's own for every rendezvous of this call (see Arrive).
    internal void Broadcast(int rank, IReadOnlyList<torch.Tensor> tensors, int root, string operation, TimeSpan? timeout = null)
    {
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be in [0, {WorldSize})");
        }
        if (tensors.Count == 0)
        {
            Arrive(rank, operation, $"{operation}|empty", timeout);
            return;
        }
        foreach (var sameType in BucketPacking.ByDtype(tensors))
        {
            BroadcastOneType(rank, sameType, root, operation, timeout);
        }
    }

    private void AllReduceSumOneType(int rank, IReadOnlyList<torch.Tensor> tensors, string operation)
    {
        var dtype = tensors[0].dtype;
        int elementSize = BucketPacking.CheckTensors(tensors, dtype, operation);
        long total = BucketPacking.TotalElements(tensors);
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
            BucketPacking.Pack(tensors, start, count, elementSize, _stage[rank]);
            Arrive(rank, operation, $"{operation}|sum|{dtype}|{total}|{bucket}");

            // Each rank sums one slice of the bucket over all ranks, always in rank order.
            long sliceStart = count * rank / WorldSize;
            long sliceEnd = count * (rank + 1) / WorldSize;
            SumSlice(dtype, (int)(sliceStart * elementSize), (int)((sliceEnd - sliceStart) * elementSize));
            Arrive(rank, operation, $"{operation}|sum-done|{bucket}");

            BucketPacking.Unpack(_result.AsSpan(0, bytes), tensors, start, count, elementSize);
        }
    }

    private void BroadcastOneType(int rank, IReadOnlyList<torch.Tensor> tensors, int root, string operation, TimeSpan? timeout)
    {
        var dtype = tensors[0].dtype;
        int elementSize = BucketPacking.CheckTensors(tensors, dtype, operation);
        long total = BucketPacking.TotalElements(tensors);
        long bucketElements = BucketBytes / elementSize;
        int bucket = 0;
        for (long start = 0; start < total; start += bucketElements, bucket++)
        {
            long count = Math.Min(bucketElements, total - start);
            if (rank == root)
            {
                EnsureCapacity(rank, checked((int)(count * elementSize)));
                BucketPacking.Pack(tensors, start, count, elementSize, _stage[rank]);
            }
            Arrive(rank, operation, $"{operation}|bcast|{root}|{dtype}|{total}|{bucket}", timeout);
            if (rank != root)
            {
                BucketPacking.Unpack(_stage[root].AsSpan(0, checked((int)(count * elementSize))), tensors, start, count, elementSize);
            }
            Arrive(rank, operation, $"{operation}|bcast-done|{bucket}", timeout);
        }
    }

    internal torch.Tensor[] AllGather(int rank, torch.Tensor tensor, string operation)
    {
        var list = new[] { tensor };
        int elementSize = BucketPacking.CheckTensors(list, tensor.dtype, operation);
        long n = tensor.numel();
        int bytes = checked((int)(n * elementSize));
        EnsureCapacity(rank, bytes);
        BucketPacking.Pack(list, 0, n, elementSize, _stage[rank]);
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

    internal void Barrier(int rank, string operation, TimeSpan? timeout = null) => Arrive(rank, operation, $"{operation}|barrier", timeout);

    /// <summary>The exception of whatever ended the hub first (time-out, mismatch or abort), for callers that pass the cause on.</summary>
    internal CollectiveException? FirstError
    {
        get
        {
            lock (_gate)
            {
                return _firstError;
            }
        }
    }

    internal CollectiveAbortedException? AbortedError(string operation)
    {
        lock (_gate)
        {
            return _abortReason is null ? null : new CollectiveAbortedException(Epoch, operation, _abortReason);
        }
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

    // Each rank sums one slice of the bucket over all ranks, always in rank order:
    // ((stage 0 + stage 1) + stage 2) + ...
    private void SumSlice(torch.ScalarType dtype, int byteOffset, int byteCount)
    {
        if (byteCount == 0)
        {
            return;
        }
        var dest = _result.AsSpan(byteOffset, byteCount);
        _stage[0].AsSpan(byteOffset, byteCount).CopyTo(dest);
        for (int r = 1; r < WorldSize; r++)
        {
            ElementwiseSum.AddInto(dtype, dest, _stage[r].AsSpan(byteOffset, byteCount));
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

    // One phase of a collective: blocks until every rank arrived with the same signature. The
    // timeout overrides the hub's for phases in which members wait on purpose for longer, e.g.
    // for a leader that is itself bounded by a time-out on a network operation.
    private void Arrive(int rank, string operation, string signature, TimeSpan? timeout = null)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            ArriveAndWait(rank, operation, signature, timeout);
        }
        finally
        {
            Interlocked.Add(ref _waitTicks[rank], Stopwatch.GetTimestamp() - started);
        }
    }

    private void ArriveAndWait(int rank, string operation, string signature, TimeSpan? timeout)
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
                        var mismatch = new CollectiveMismatchException(Epoch, operation, detail);
                        _firstError = mismatch;
                        Monitor.PulseAll(_gate);
                        throw mismatch;
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

            var deadline = Deadline.After(_time, timeout ?? Timeout);
            if (SpinUntilReleased(generation))
            {
                return;
            }
            while (_generation == generation && _abortReason is null)
            {
                var remaining = deadline.WaitSlice;
                if (remaining <= TimeSpan.Zero)
                {
                    var missing = Enumerable.Range(0, WorldSize).Where(r => _signatures[r] is null).ToList();
                    var error = new CollectiveTimeoutException(Epoch, operation, timeout ?? Timeout, missing);
                    _abortReason = error.Message;
                    _firstError = error;
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
