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
/// Summation order, the same on every rank and in every run:
/// - payloads up to <see cref="RingSettings.SmallBytes"/> are all-gathered around the ring and
///   summed by every member itself in ring order: ((x0 + x1) + x2) + ..., bit-identical everywhere;
/// - larger payloads take the ring: reduce-scatter then all-gather. The bucket is cut into one
///   chunk per member; chunk c is summed on its way round the ring starting at member c:
///   ((xc + xc+1) + xc+2) + ... (indices mod n), then copied unchanged to everyone. With two
///   members that is x0 + x1 for every chunk (IEEE addition is commutative), i.e. the rank-order
///   sum; with three or more the association differs from chunk to chunk but not from run to run.
/// </remarks>
internal sealed class TcpCollectiveGroup(RingLinks links) : ICollectiveGroup
{
    private readonly RingSettings _settings = links.Settings;
    private byte[] _buffer = [];
    private long _sequence;

    public long Epoch => links.Epoch;

    public int Rank => links.Self.RingIndex;

    public int WorldSize => links.Size;

    public bool IsAborted => links.IsDone;

    public TimeSpan WaitTime => links.WaitTime;

    internal RingLinks Links => links;

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
        if (total * elementSize <= _settings.SmallBytes)
        {
            SmallSum(tensors, dtype, elementSize, (int)total, operation);
            return;
        }
        long bucketElements = _settings.BucketBytes / elementSize;
        int bucket = 0;
        for (long start = 0; start < total; start += bucketElements, bucket++)
        {
            long count = Math.Min(bucketElements, total - start);
            int bytes = checked((int)(count * elementSize));
            EnsureBuffer(bytes);
            BucketPacking.Pack(tensors, start, count, elementSize, _buffer);
            RingSum(dtype, elementSize, count, $"{operation}|sum|{dtype}|{total}|{bucket}", operation);
            BucketPacking.Unpack(_buffer.AsSpan(0, bytes), tensors, start, count, elementSize);
        }
    }

    // All-gather every member's values, then every member sums them itself in ring order.
    private void SmallSum(IReadOnlyList<torch.Tensor> tensors, torch.ScalarType dtype, int elementSize, int total, string operation)
    {
        int n = WorldSize;
        int bytes = total * elementSize;
        var blocks = Enumerable.Repeat(bytes, n).ToArray();
        EnsureBuffer((n + 1) * bytes);
        BucketPacking.Pack(tensors, 0, total, elementSize, _buffer.AsSpan(Rank * bytes, bytes));
        GatherBlocks(blocks, OpKind.SmallSum, $"{operation}|small-sum|{dtype}|{total}", operation);
        var sum = _buffer.AsSpan(n * bytes, bytes);
        _buffer.AsSpan(0, bytes).CopyTo(sum);
        for (int r = 1; r < n; r++)
        {
            ElementwiseSum.AddInto(dtype, sum, _buffer.AsSpan(r * bytes, bytes));
        }
        BucketPacking.Unpack(sum, tensors, 0, total, elementSize);
    }

    // Ring all-reduce of _buffer[0, count * elementSize): reduce-scatter, then all-gather, each
    // chunk in segments so the sender thread writes one segment while this thread reduces the next.
    private void RingSum(torch.ScalarType dtype, int elementSize, long count, string signature, string operation)
    {
        int n = WorldSize;
        int me = Rank;
        var segments = RingSegments(count, n, elementSize, _settings.SegmentBytes);
        var header = NextHeader(OpKind.RingSum, count * elementSize, signature);
        links.BeginOperation(operation);
        var encoded = header.Encode();
        links.Send(FrameType.OpHeader, encoded, 0, encoded.Length);
        var headerSlot = links.PostHeader(header);

        // Reduce-scatter step k sends chunk (me - k) and receives chunk (me - k - 1); step 0 sends our own values.
        foreach (var (offset, length) in segments[me])
        {
            links.Send(FrameType.Data, _buffer, offset, length);
        }
        var reduceSlots = new List<RingLinks.Slot>();
        for (int k = 0; k < n - 1; k++)
        {
            foreach (var (_, length) in segments[Mod(me - k - 1, n)])
            {
                reduceSlots.Add(links.PostPooled(length));
            }
        }
        // All-gather step k receives the finished chunk (me - k) straight into place.
        var gatherSlots = new List<RingLinks.Slot>();
        for (int k = 0; k < n - 1; k++)
        {
            foreach (var (offset, length) in segments[Mod(me - k, n)])
            {
                gatherSlots.Add(links.PostData(_buffer, offset, length));
            }
        }
        links.Wait(headerSlot, operation);

        int next = 0;
        for (int k = 0; k < n - 1; k++)
        {
            foreach (var (offset, length) in segments[Mod(me - k - 1, n)])
            {
                var slot = reduceSlots[next++];
                links.Wait(slot, operation);
                ElementwiseSum.AddInto(dtype, _buffer.AsSpan(offset, length), slot.Payload);
                links.Release(slot);
                // This segment is what step k + 1 sends; after the last step it is finished, and
                // is what the all-gather's first step sends.
                links.Send(FrameType.Data, _buffer, offset, length);
            }
        }
        next = 0;
        for (int k = 0; k < n - 1; k++)
        {
            foreach (var (offset, length) in segments[Mod(me - k, n)])
            {
                links.Wait(gatherSlots[next++], operation);
                if (k < n - 2)
                {
                    links.Send(FrameType.Data, _buffer, offset, length);
                }
            }
        }
        links.WaitSent(operation);
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

    public void Broadcast(IReadOnlyList<torch.Tensor> tensors, int root, string operation = "broadcast")
    {
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be in [0, {WorldSize})");
        }
        if (tensors.Count == 0)
        {
            GatherBlocks(new int[WorldSize], OpKind.Barrier, $"{operation}|empty", operation);
            return;
        }
        foreach (var sameType in BucketPacking.ByDtype(tensors))
        {
            var dtype = sameType[0].dtype;
            int elementSize = BucketPacking.CheckTensors(sameType, dtype, operation);
            long total = BucketPacking.TotalElements(sameType);
            long bucketElements = _settings.BucketBytes / elementSize;
            int bucket = 0;
            for (long start = 0; start < total || bucket == 0; start += bucketElements, bucket++)
            {
                long count = Math.Min(bucketElements, total - start);
                int bytes = checked((int)(count * elementSize));
                EnsureBuffer(bytes);
                if (Rank == root)
                {
                    BucketPacking.Pack(sameType, start, count, elementSize, _buffer);
                }
                BroadcastBuffer(bytes, root, $"{operation}|bcast|{root}|{dtype}|{total}|{bucket}", operation);
                if (Rank != root)
                {
                    BucketPacking.Unpack(_buffer.AsSpan(0, bytes), sameType, start, count, elementSize);
                }
                if (count == 0)
                {
                    break;
                }
            }
        }
    }

    // A chain from the root to the member before it, pipelined by segment, closed by a token that
    // goes once round the ring from the last member: every member returns only after every member
    // has checked its header and the last one has all the data.
    private void BroadcastBuffer(int bytes, int root, string signature, string operation)
    {
        int last = Mod(root - 1, WorldSize);
        var frames = Frames(0, bytes);
        var header = NextHeader(OpKind.Broadcast, bytes, signature);
        links.BeginOperation(operation);
        var encoded = header.Encode();
        links.Send(FrameType.OpHeader, encoded, 0, encoded.Length);
        var headerSlot = links.PostHeader(header);
        if (Rank == root)
        {
            foreach (var (offset, length) in frames)
            {
                links.Send(FrameType.Data, _buffer, offset, length);
            }
        }
        var dataSlots = Rank == root ? [] : frames.Select(f => links.PostData(_buffer, f.Offset, f.Length)).ToList();
        var tokenSlot = links.PostToken();
        links.Wait(headerSlot, operation);
        for (int i = 0; i < dataSlots.Count; i++)
        {
            links.Wait(dataSlots[i], operation);
            if (Rank != last)
            {
                links.Send(FrameType.Data, _buffer, frames[i].Offset, frames[i].Length);
            }
        }
        if (Rank == last)
        {
            links.Send(FrameType.Token, [], 0, 0);
        }
        links.Wait(tokenSlot, operation);
        if (Rank != last)
        {
            links.Send(FrameType.Token, [], 0, 0);
        }
        links.WaitSent(operation);
    }

    public torch.Tensor[] AllGather(torch.Tensor tensor, string operation = "all-gather")
    {
        var list = new[] { tensor };
        int elementSize = BucketPacking.CheckTensors(list, tensor.dtype, operation);
        long n = tensor.numel();
        int bytes = checked((int)(n * elementSize));
        EnsureBuffer(WorldSize * bytes);
        BucketPacking.Pack(list, 0, n, elementSize, _buffer.AsSpan(Rank * bytes, bytes));
        GatherBlocks(Enumerable.Repeat(bytes, WorldSize).ToArray(), OpKind.AllGather,
            $"{operation}|gather|{tensor.dtype}|{string.Join("x", tensor.shape)}", operation);
        var result = new torch.Tensor[WorldSize];
        for (int r = 0; r < WorldSize; r++)
        {
            result[r] = torch.empty(tensor.shape, tensor.dtype);
            if (bytes > 0)
            {
                _buffer.AsSpan(r * bytes, bytes).CopyTo(result[r].bytes);
            }
        }
        return result;
    }

    public void Barrier(string operation = "barrier") =>
        GatherBlocks(new int[WorldSize], OpKind.Barrier, $"{operation}|barrier", operation);

    /// <summary>
    /// All-gathers blocks of the given sizes (member r's block at the sum of the sizes before it)
    /// and returns the buffer that holds them; <paramref name="mine"/> is this member's block.
    /// </summary>
    internal byte[] AllGatherBlocks(ReadOnlySpan<byte> mine, int[] blockBytes, string signature, string operation)
    {
        EnsureBuffer(blockBytes.Sum());
        mine.CopyTo(_buffer.AsSpan(blockBytes.Take(Rank).Sum(), blockBytes[Rank]));
        GatherBlocks(blockBytes, OpKind.AllGather, signature, operation);
        return _buffer;
    }

    // Ring all-gather of the blocks laid out one after the other in _buffer; step k sends block
    // (me - k) and receives block (me - k - 1) in place. Empty blocks still travel as one empty
    // frame, so a barrier hears from every member.
    private void GatherBlocks(int[] blockBytes, OpKind kind, string signature, string operation)
    {
        int n = WorldSize;
        int me = Rank;
        var offsets = new int[n];
        for (int r = 1; r < n; r++)
        {
            offsets[r] = offsets[r - 1] + blockBytes[r - 1];
        }
        var header = NextHeader(kind, blockBytes.Sum(), signature);
        links.BeginOperation(operation);
        var encoded = header.Encode();
        links.Send(FrameType.OpHeader, encoded, 0, encoded.Length);
        var headerSlot = links.PostHeader(header);
        foreach (var (offset, length) in Frames(offsets[me], blockBytes[me]))
        {
            links.Send(FrameType.Data, _buffer, offset, length);
        }
        var slots = new List<(RingLinks.Slot Slot, int Offset, int Length, int Step)>();
        for (int k = 0; k < n - 1; k++)
        {
            int block = Mod(me - k - 1, n);
            foreach (var (offset, length) in Frames(offsets[block], blockBytes[block]))
            {
                slots.Add((links.PostData(_buffer, offset, length), offset, length, k));
            }
        }
        links.Wait(headerSlot, operation);
        foreach (var (slot, offset, length, step) in slots)
        {
            links.Wait(slot, operation);
            if (step < n - 2)
            {
                links.Send(FrameType.Data, _buffer, offset, length);
            }
        }
        links.WaitSent(operation);
    }

    // A region cut into frames of at most one segment; an empty region is one empty frame.
    private List<(int Offset, int Length)> Frames(int offset, int length)
    {
        int count = Math.Max(1, (length + _settings.SegmentBytes - 1) / _settings.SegmentBytes);
        var frames = new List<(int, int)>(count);
        for (int f = 0; f < count; f++)
        {
            int a = (int)((long)length * f / count);
            int b = (int)((long)length * (f + 1) / count);
            frames.Add((offset + a, b - a));
        }
        return frames;
    }

    public void Abort(string reason) => links.Fail(CollectiveFailure.Aborted(links.Self.ToString(), reason));

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
