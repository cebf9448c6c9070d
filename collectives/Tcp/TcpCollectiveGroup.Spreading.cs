using TorchSharp;

namespace GppfActors.Collectives;

// Broadcast, all-gather and barrier: data that spreads around the ring without being summed.
internal sealed partial class TcpCollectiveGroup
{
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
            string layout = Layout(sameType);
            var windows = ReducePlan.Of(sameType, elementSize, _settings.BucketBytes, DirectMinBytes);
            if (windows.Count == 0)
            {
                windows.Add(new ReducePlan.Window(0, 0, null, 0));   // nothing to send, but everyone meets
            }
            for (int w = 0; w < windows.Count; w++)
            {
                var window = windows[w];
                int bytes = checked((int)(window.Count * elementSize));
                string signature = $"{operation}|bcast|{root}|{dtype}|{layout}|{w}";
                if (window.Tensor is { } tensor)
                {
                    var region = TensorMemory.Of(tensor).Slice(checked((int)(window.TensorOffset * elementSize)), bytes);
                    InTensorMemory(() => BroadcastRegion(region, root, signature, operation));
                    continue;
                }
                EnsureBuffer(bytes);
                if (Rank == root)
                {
                    BucketPacking.Pack(sameType, window.Start, window.Count, elementSize, _buffer);
                }
                BroadcastRegion(_buffer.AsMemory(0, bytes), root, signature, operation);
                if (Rank != root)
                {
                    BucketPacking.Unpack(_buffer.AsSpan(0, bytes), sameType, window.Start, window.Count, elementSize);
                }
            }
        }
    }

    // A chain from the root to the member before it, pipelined by segment, closed by a token that
    // goes once round the ring from the last member: every member returns only after every member
    // has checked its header and the last one has all the data.
    private void BroadcastRegion(Memory<byte> region, int root, string signature, string operation)
    {
        int last = Mod(root - 1, WorldSize);
        var frames = Frames(0, region.Length);
        var header = NextHeader(OpKind.Broadcast, region.Length, signature);
        _links.BeginOperation(operation);
        _links.Send(FrameType.OpHeader, header.Encode());
        var headerSlot = _links.PostHeader(header);
        if (Rank == root)
        {
            foreach (var (offset, length) in frames)
            {
                _links.Send(FrameType.Data, region.Slice(offset, length));
            }
        }
        var dataSlots = Rank == root ? [] : frames.Select(f => _links.PostData(region.Slice(f.Offset, f.Length))).ToList();
        var tokenSlot = _links.PostToken();
        _links.Wait(headerSlot, operation);
        for (int i = 0; i < dataSlots.Count; i++)
        {
            _links.Wait(dataSlots[i], operation);
            if (Rank != last)
            {
                _links.Send(FrameType.Data, region.Slice(frames[i].Offset, frames[i].Length));
            }
        }
        if (Rank == last)
        {
            _links.Send(FrameType.Token, ReadOnlyMemory<byte>.Empty);
        }
        _links.Wait(tokenSlot, operation);
        if (Rank != last)
        {
            _links.Send(FrameType.Token, ReadOnlyMemory<byte>.Empty);
        }
        _links.WaitSent(operation);
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
        _links.BeginOperation(operation);
        _links.Send(FrameType.OpHeader, header.Encode());
        var headerSlot = _links.PostHeader(header);
        foreach (var (offset, length) in Frames(offsets[me], blockBytes[me]))
        {
            _links.Send(FrameType.Data, _buffer.AsMemory(offset, length));
        }
        var slots = new List<(RingLinks.Slot Slot, int Offset, int Length, int Step)>();
        for (int k = 0; k < n - 1; k++)
        {
            int block = Mod(me - k - 1, n);
            foreach (var (offset, length) in Frames(offsets[block], blockBytes[block]))
            {
                slots.Add((_links.PostData(_buffer.AsMemory(offset, length)), offset, length, k));
            }
        }
        _links.Wait(headerSlot, operation);
        foreach (var (slot, offset, length, step) in slots)
        {
            _links.Wait(slot, operation);
            if (step < n - 2)
            {
                _links.Send(FrameType.Data, _buffer.AsMemory(offset, length));
            }
        }
        _links.WaitSent(operation);
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
}
