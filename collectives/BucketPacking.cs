using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>
/// Moves windows of the virtual concatenation of a tensor list to and from a byte buffer, so that
/// every transport (in-process hub, TCP ring) reduces one flat buffer per dtype instead of many
/// small tensors.
/// </summary>
internal static class BucketPacking
{
    /// <summary>Bytes per element of the dtypes the collectives sum; anything else is a caller error.</summary>
    public static int ElementSize(torch.ScalarType dtype, string operation) => dtype switch
    {
        torch.ScalarType.Float32 or torch.ScalarType.Int32 => 4,
        torch.ScalarType.Float64 or torch.ScalarType.Int64 => 8,
        _ => throw new ArgumentException($"{operation}: dtype {dtype} is not supported (float32, float64, int32, int64)"),
    };

    /// <summary>Checks that every tensor is a contiguous CPU tensor of <paramref name="dtype"/>; returns the element size.</summary>
    public static int CheckTensors(IReadOnlyList<torch.Tensor> tensors, torch.ScalarType dtype, string operation)
    {
        foreach (var t in tensors)
        {
            if (t.dtype != dtype)
            {
                throw new ArgumentException($"{operation}: all tensors of one call must share a dtype ({dtype} and {t.dtype} given)");
            }
            if (t.device_type != DeviceType.CPU)
            {
                throw new ArgumentException($"{operation}: this collective group works on CPU tensors; got one on {t.device}");
            }
            if (!t.is_contiguous())
            {
                throw new ArgumentException($"{operation}: tensors must be contiguous (shape {string.Join("x", t.shape)})");
            }
        }
        return ElementSize(dtype, operation);
    }

    // Mixed-dtype calls (a state dict holds float32 weights and int64 counters) run one pass per
    // dtype, in order of first appearance, which is the same on every rank.
    public static IEnumerable<IReadOnlyList<torch.Tensor>> ByDtype(IReadOnlyList<torch.Tensor> tensors) =>
        tensors.GroupBy(t => t.dtype).Select(g => (IReadOnlyList<torch.Tensor>)g.ToList());

    /// <summary>Number of elements of the virtual concatenation.</summary>
    public static long TotalElements(IReadOnlyList<torch.Tensor> tensors)
    {
        long total = 0;
        foreach (var t in tensors)
        {
            total += t.numel();
        }
        return total;
    }

    /// <summary>Copies elements [start, start + count) of the concatenation into <paramref name="buffer"/>.</summary>
    public static void Pack(IReadOnlyList<torch.Tensor> tensors, long start, long count, int elementSize, Span<byte> buffer)
    {
        foreach (var (tensor, tensorByte, bufferByte, bytes) in Windows(tensors, start, count, elementSize))
        {
            Span<byte> data = tensor.bytes;
            data.Slice(tensorByte, bytes).CopyTo(buffer.Slice(bufferByte, bytes));
        }
    }

    /// <summary>Copies <paramref name="buffer"/> into elements [start, start + count) of the concatenation.</summary>
    public static void Unpack(ReadOnlySpan<byte> buffer, IReadOnlyList<torch.Tensor> tensors, long start, long count, int elementSize)
    {
        foreach (var (tensor, tensorByte, bufferByte, bytes) in Windows(tensors, start, count, elementSize))
        {
            Span<byte> data = tensor.bytes;
            buffer.Slice(bufferByte, bytes).CopyTo(data.Slice(tensorByte, bytes));
        }
    }

    // The pieces of the window [start, start + count) that fall into each tensor, as byte offsets
    // into that tensor and into the buffer that holds the window.
    private static IEnumerable<(torch.Tensor Tensor, int TensorByte, int BufferByte, int Bytes)> Windows(
        IReadOnlyList<torch.Tensor> tensors, long start, long count, int elementSize)
    {
        long offset = 0;
        long end = start + count;
        foreach (var t in tensors)
        {
            if (offset >= end)
            {
                yield break;
            }
            long n = t.numel();
            long lo = Math.Max(start, offset);
            long hi = Math.Min(end, offset + n);
            if (lo < hi)
            {
                yield return (t, checked((int)((lo - offset) * elementSize)), checked((int)((lo - start) * elementSize)), checked((int)((hi - lo) * elementSize)));
            }
            offset += n;
        }
    }
}
