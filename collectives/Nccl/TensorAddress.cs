using System.Runtime.InteropServices;
using TorchSharp;

namespace GppfActors.Collectives.Nccl;

/// <summary>
/// The address of a tensor's first element, on whatever device it lives: its storage's data
/// pointer plus its storage offset. TorchSharp 0.107 has no public accessor for a CUDA tensor's
/// pointer (its <c>bytes</c> and <c>data&lt;T&gt;</c> read host memory), so this asks the wrapper's
/// own export, which returns <c>tensor.storage().data_ptr()</c> for any device.
/// </summary>
internal static partial class TensorAddress
{
    [LibraryImport("LibTorchSharp", EntryPoint = "THSStorage_data_ptr")]
    private static partial IntPtr StorageDataPointer(IntPtr tensor);

    /// <summary>The address of <paramref name="tensor"/>'s element 0.</summary>
    public static IntPtr Of(torch.Tensor tensor)
    {
        IntPtr storage = StorageDataPointer(tensor.Handle);
        if (storage == IntPtr.Zero && tensor.numel() > 0)
        {
            throw new InvalidOperationException($"tensor of shape [{string.Join(", ", tensor.shape)}] on {tensor.device} has no storage");
        }
        return storage + checked((nint)(tensor.storage_offset() * tensor.element_size()));
    }
}

/// <summary>The NCCL element type of a libtorch dtype.</summary>
internal static class NcclTypes
{
    /// <summary>The NCCL type for <paramref name="dtype"/>, or null when NCCL has none (or cannot sum it, for <paramref name="forSum"/>).</summary>
    public static NcclDataType? Of(torch.ScalarType dtype, bool forSum) => dtype switch
    {
        torch.ScalarType.Float32 => NcclDataType.Float32,
        torch.ScalarType.Float64 => NcclDataType.Float64,
        torch.ScalarType.Float16 => NcclDataType.Float16,
        torch.ScalarType.BFloat16 => NcclDataType.Bfloat16,
        torch.ScalarType.Int32 => NcclDataType.Int32,
        torch.ScalarType.Int64 => NcclDataType.Int64,
        torch.ScalarType.Int8 => NcclDataType.Int8,
        torch.ScalarType.Byte => NcclDataType.Uint8,
        // Booleans are bytes to move, but a sum of them is not a boolean.
        torch.ScalarType.Bool when !forSum => NcclDataType.Uint8,
        _ => null,
    };
}
