using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace GppfActors.Model.Norm;

/// <summary>
/// Moves per-channel vectors (C values) between tensors and managed arrays with as few tensor ops
/// as possible: on CPU float32/float64 the tensor's memory is read directly.
/// </summary>
internal static class ChannelValues
{
    public static double[] ToDoubles(Tensor t)
    {
        if (t.device_type == DeviceType.CPU && t.is_contiguous())
        {
            if (t.dtype == ScalarType.Float32)
            {
                var span = MemoryMarshal.Cast<byte, float>(t.bytes);
                var result = new double[span.Length];
                for (int i = 0; i < span.Length; i++)
                {
                    result[i] = span[i];
                }
                return result;
            }
            if (t.dtype == ScalarType.Float64)
            {
                return MemoryMarshal.Cast<byte, double>(t.bytes).ToArray();
            }
        }
        using var scope = NewDisposeScope();
        return t.to_type(float64).cpu().contiguous().data<double>().ToArray();
    }

    /// <summary>A [1, C, 1, 1] tensor of <paramref name="values"/> on <paramref name="like"/>'s device and dtype.</summary>
    public static Tensor Broadcastable(float[] values, Tensor like)
    {
        var t = tensor(values).view(1, values.Length, 1, 1);
        return like.device_type == DeviceType.CPU && like.dtype == ScalarType.Float32 ? t : t.to(like.dtype, like.device);
    }

    /// <summary>A [C] tensor of <paramref name="values"/> on <paramref name="like"/>'s device and dtype.</summary>
    public static Tensor Vector(double[] values, Tensor like) => tensor(values).to(like.dtype, like.device);

    /// <summary>A [C] tensor of <paramref name="values"/> on <paramref name="like"/>'s device and dtype.</summary>
    public static Tensor Vector(float[] values, Tensor like)
    {
        var t = tensor(values);
        return like.device_type == DeviceType.CPU && like.dtype == ScalarType.Float32 ? t : t.to(like.dtype, like.device);
    }
}
