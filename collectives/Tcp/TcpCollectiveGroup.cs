using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>
/// One process's member of the ring between processes of an epoch, with the same contract as the
/// in-process group; its rank is the process's position in the ring. Used from one thread (the
/// process's leading device thread); <see cref="Abort"/> from any.
/// </summary>
/// <remarks>
/// Every operation starts with a header frame that the next process compares with its own
/// (<see cref="OpHeader"/>); a member sends its own contribution eagerly but forwards anything
/// it received only after its check passed, so no member completes an operation unless every
/// member agreed (a broadcast closes with a token round to get the same guarantee).
/// A call is cut into passes per dtype (<see cref="ReducePlan"/>): a large tensor is reduced in
/// its own memory in windows of at most a bucket, runs of small tensors are packed into buckets.
/// Summation order, the same on every rank and in every run:
/// - a call or pass of up to <see cref="RingSettings.SmallBytes"/> is all-gathered around the
///   ring and summed by every member itself in ring order: ((x0 + x1) + x2) + ...;
/// - a larger pass takes the ring: reduce-scatter then all-gather. The pass is cut into one chunk
///   per member; chunk c is summed on its way round the ring starting at member c:
///   ((xc + xc+1) + xc+2) + ... (indices mod n), then copied unchanged to everyone. With two
///   members that is x0 + x1 for every chunk (IEEE addition is commutative), i.e. the rank-order
///   sum; with three or more the association differs from chunk to chunk but not from run to run.
/// </remarks>
internal sealed partial class TcpCollectiveGroup(RingLinks links) : ICollectiveGroup
{
    private readonly RingLinks _links = links;
    private readonly RingSettings _settings = links.Settings;
    private byte[] _buffer = [];
    private long _sequence;

    public long Epoch => _links.Epoch;

    public int Rank => _links.Self.RingIndex;

    public int WorldSize => _links.Size;

    public bool IsAborted => _links.IsDone;

    public TimeSpan WaitTime => _links.WaitTime;

    public void AllReduceSum(IReadOnlyList<torch.Tensor> tensors, string operation = "all-reduce")
    {
        if (tensors.Count == 0)
        {
            GatherBlocks(new int[WorldSize], OpKind.Barrier, $"{operation}|empty", operation);
            return;
        }
        foreach (var sameType in BucketPacking.ByDtype(tensors))
        {
            AllReduceOneType(sameType, operation);
        }
    }

    private void AllReduceOneType(IReadOnlyList<torch.Tensor> tensors, string operation)
    {
        var dtype = tensors[0].dtype;
        int elementSize = BucketPacking.CheckTensors(tensors, dtype, operation);
        long total = BucketPacking.TotalElements(tensors);
        string layout = Layout(tensors);
        if (total * elementSize <= _settings.SmallBytes)
        {
            SmallSum(tensors, 0, (int)total, dtype, elementSize, $"{operation}|small-sum|{dtype}|{layout}", operation);
            return;
        }
        var windows = ReducePlan.Of(tensors, elementSize, _settings.BucketBytes, DirectMinBytes);
        for (int w = 0; w < windows.Count; w++)
        {
            var window = windows[w];
            int bytes = checked((int)(window.Count * elementSize));
            string signature = $"{operation}|sum|{dtype}|{layout}|{w}";
            if (bytes <= _settings.SmallBytes)
            {
                SmallSum(tensors, window.Start, (int)window.Count, dtype, elementSize, signature, operation);
            }
            else if (window.Tensor is { } tensor)
            {
                // Reduced where it lies: no copy into a staging buffer and back.
                var work = TensorMemory.Of(tensor).Slice(checked((int)(window.TensorOffset * elementSize)), bytes);
                InTensorMemory(() => RingSum(work, dtype, elementSize, window.Count, signature, operation));
            }
            else
            {
                EnsureBuffer(bytes);
                BucketPacking.Pack(tensors, window.Start, window.Count, elementSize, _buffer);
                RingSum(_buffer.AsMemory(0, bytes), dtype, elementSize, window.Count, signature, operation);
                BucketPacking.Unpack(_buffer.AsSpan(0, bytes), tensors, window.Start, window.Count, elementSize);
            }
        }
    }

    // A failed operation on tensor memory returns only once the ring's threads have let go of it.
    private void InTensorMemory(Action operation)
    {
        try
        {
            operation();
        }
        catch (Exception e)
        {
            if (e is not CollectiveException)
            {
                // Half an operation leaves the ring out of step with its peers: end it.
                _links.Fail(CollectiveFailure.Aborted(_links.Self.ToString(), $"collective failed locally: {e.GetType().Name}: {e.Message}"));
            }
            _links.Quiesce();
            throw;
        }
    }

    // Tensors at least this large are reduced in their own memory; smaller ones are packed.
    private int DirectMinBytes => Math.Max(_settings.SmallBytes + 1, 2 * _settings.SegmentBytes);

    // The tensor sizes, hashed: every rank must cut the call into the same passes (see ReducePlan).
    private static string Layout(IReadOnlyList<torch.Tensor> tensors)
    {
        long total = BucketPacking.TotalElements(tensors);
        ulong hash = Fnv1a.Hash(string.Join(",", tensors.Select(t => t.numel())));
        return $"{total}:{tensors.Count}:{hash:x16}";
    }

    // All-gather every member's values, then every member sums them itself in ring order.
    private void SmallSum(IReadOnlyList<torch.Tensor> tensors, long start, int count, torch.ScalarType dtype, int elementSize, string signature, string operation)
    {
        int n = WorldSize;
        int bytes = count * elementSize;
        var blocks = Enumerable.Repeat(bytes, n).ToArray();
        EnsureBuffer((n + 1) * bytes);
        BucketPacking.Pack(tensors, start, count, elementSize, _buffer.AsSpan(Rank * bytes, bytes));
        GatherBlocks(blocks, OpKind.SmallSum, signature, operation);
        var sum = _buffer.AsSpan(n * bytes, bytes);
        _buffer.AsSpan(0, bytes).CopyTo(sum);
        for (int r = 1; r < n; r++)
        {
            ElementwiseSum.AddInto(dtype, sum, _buffer.AsSpan(r * bytes, bytes));
        }
        BucketPacking.Unpack(sum, tensors, start, count, elementSize);
    }

    // Ring all-reduce of work (count elements): reduce-scatter, then all-gather, each chunk in
    // segments so the sender thread writes one segment while this thread reduces the next.
    private void RingSum(Memory<byte> work, torch.ScalarType dtype, int elementSize, long count, string signature, string operation)
    {
        int n = WorldSize;
        int me = Rank;
        var segments = RingSegments(count, n, elementSize, _settings.SegmentBytes);
        var header = NextHeader(OpKind.RingSum, count * elementSize, signature);
        _links.BeginOperation(operation);
        _links.Send(FrameType.OpHeader, header.Encode());
        var headerSlot = _links.PostHeader(header);

        // Reduce-scatter step k sends chunk (me - k) and receives chunk (me - k - 1); step 0 sends our own values.
        foreach (var (offset, length) in segments[me])
        {
            _links.Send(FrameType.Data, work.Slice(offset, length));
        }
        var reduceSlots = new List<RingLinks.Slot>();
        for (int k = 0; k < n - 1; k++)
        {
            foreach (var (_, length) in segments[Mod(me - k - 1, n)])
            {
                reduceSlots.Add(_links.PostPooled(length));
            }
        }
        // All-gather step k receives the finished chunk (me - k) straight into place.
        var gatherSlots = new List<RingLinks.Slot>();
        for (int k = 0; k < n - 1; k++)
        {
            foreach (var (offset, length) in segments[Mod(me - k, n)])
            {
                gatherSlots.Add(_links.PostData(work.Slice(offset, length)));
            }
        }
        _links.Wait(headerSlot, operation);

        int next = 0;
        for (int k = 0; k < n - 1; k++)
        {
            foreach (var (offset, length) in segments[Mod(me - k - 1, n)])
            {
                var slot = reduceSlots[next++];
                _links.Wait(slot, operation);
                ElementwiseSum.AddInto(dtype, work.Span.Slice(offset, length), slot.Payload);
                _links.Release(slot);
                // This segment is what step k + 1 sends; after the last step it is finished, and
                // is what the all-gather's first step sends.
                _links.Send(FrameType.Data, work.Slice(offset, length));
            }
        }
        next = 0;
        for (int k = 0; k < n - 1; k++)
        {
            foreach (var (offset, length) in segments[Mod(me - k, n)])
            {
                _links.Wait(gatherSlots[next++], operation);
                if (k < n - 2)
                {
                    _links.Send(FrameType.Data, work.Slice(offset, length));
                }
            }
        }
        _links.WaitSent(operation);
    }

    /// <summary>
    /// Byte ranges of the ring's chunks (one per member) and their segments: at least two per
    /// chunk, at most <paramref name="segmentBytes"/> each (give or take an element). Every member
    /// computes the same table from the same numbers.
    /// </summary>
    internal static (int Offset, int Length)[][] RingSegments(long count, int n, int elementSize, int segmentBytes)
    {
        var chunks = new (int, int)[n][];
        for (int c = 0; c < n; c++)
        {
            long start = count * c / n;
            long elements = count * (c + 1) / n - start;
            if (elements == 0)
            {
                chunks[c] = [];
                continue;
            }
            long pieces = Math.Max(Math.Min(2, elements), (elements * elementSize + segmentBytes - 1) / segmentBytes);
            chunks[c] = new (int, int)[pieces];
            for (long s = 0; s < pieces; s++)
            {
                long a = start + elements * s / pieces;
                long b = start + elements * (s + 1) / pieces;
                chunks[c][s] = (checked((int)(a * elementSize)), checked((int)((b - a) * elementSize)));
            }
        }
        return chunks;
    }

    public void Abort(string reason) => _links.Fail(CollectiveFailure.Aborted(_links.Self.ToString(), reason));

    public void Dispose()
    {
        // The epoch's session owns the links; one member leaving does not end the epoch for others.
    }

    private OpHeader NextHeader(OpKind kind, long bytes, string signature) => OpHeader.For(kind, ++_sequence, bytes, signature);

    private void EnsureBuffer(int bytes)
    {
        if (_buffer.Length < bytes)
        {
            // Grow with headroom (up to a bucket) so that calls of slowly rising size do not reallocate each time.
            _buffer = new byte[(int)Math.Min(int.MaxValue, Math.Max(bytes, Math.Min(_settings.BucketBytes, 2L * bytes)))];
        }
    }

    private static int Mod(int a, int n) => ((a % n) + n) % n;
}
