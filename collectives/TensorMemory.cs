using System.Buffers;
using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>
/// A CPU tensor's storage as <see cref="Memory{T}"/>, so a transport can send from it, receive
/// into it and reduce in it without a staging copy. Valid while the tensor is alive and not
/// resized; the collectives use it only inside the call that was handed the tensor.
/// </summary>
internal sealed unsafe class TensorMemory : MemoryManager<byte>
{
    private readonly byte* _pointer;
    private readonly int _length;

    private TensorMemory(byte* pointer, int length)
    {
        _pointer = pointer;
        _length = length;
    }

    /// <summary>The bytes of <paramref name="tensor"/> (contiguous, on the CPU).</summary>
    public static Memory<byte> Of(torch.Tensor tensor)
    {
        Span<byte> bytes = tensor.bytes;
        fixed (byte* pointer = bytes)
        {
            // The span wraps native memory that libtorch owns; fixing it pins nothing, it only
            // yields the address, which stays valid as long as the tensor's storage does.
            return new TensorMemory(pointer, bytes.Length).Memory;
        }
    }

    public override Span<byte> GetSpan() => new(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
        // Native memory does not move.
    }

    protected override void Dispose(bool disposing)
    {
        // The tensor owns the memory.
    }
}
