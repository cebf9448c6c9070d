using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>
/// dest += src element-wise over raw buffers of one dtype, vectorised. Lane-wise SIMD addition
/// rounds exactly like the scalar loop, so the result does not depend on the vector width.
/// </summary>
internal static class ElementwiseSum
{
    /// <summary>Adds <paramref name="src"/> into <paramref name="dest"/>, both holding elements of <paramref name="dtype"/>.</summary>
    public static void AddInto(torch.ScalarType dtype, Span<byte> dest, ReadOnlySpan<byte> src)
    {
        if (dest.Length != src.Length)
        {
            throw new ArgumentException($"buffers differ in length ({dest.Length} and {src.Length} bytes)");
        }
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
            case torch.ScalarType.Int64:
                AddInto(MemoryMarshal.Cast<byte, long>(dest), MemoryMarshal.Cast<byte, long>(src));
                break;
            default:
                throw new ArgumentException($"dtype {dtype} is not supported (float32, float64, int32, int64)");
        }
    }

    /// <summary>Adds <paramref name="src"/> into <paramref name="dest"/> element-wise.</summary>
    public static void AddInto<T>(Span<T> dest, ReadOnlySpan<T> src)
        where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && dest.Length >= Vector<T>.Count)
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
