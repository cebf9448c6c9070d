using TorchSharp;

namespace GppfActors.Model.Checkpoints;

/// <summary>
/// One tensor as a safetensors header describes it: its name, dtype, shape and the byte range of its
/// data, relative to the start of the data section.
/// </summary>
/// <param name="Name">The tensor's key, e.g. <c>1.running_mean</c>.</param>
/// <param name="DType">The dtype name as written in the header, e.g. <c>F32</c>.</param>
/// <param name="ScalarType">The TorchSharp scalar type that <paramref name="DType"/> names.</param>
/// <param name="Shape">The dimensions; empty for a 0-d scalar.</param>
/// <param name="DataBegin">First byte of the data, relative to the data section.</param>
/// <param name="DataEnd">One past the last byte of the data, relative to the data section.</param>
public sealed record SafeTensorsEntry(
    string Name,
    string DType,
    torch.ScalarType ScalarType,
    IReadOnlyList<long> Shape,
    long DataBegin,
    long DataEnd)
{
    /// <summary>How many bytes of data the tensor occupies.</summary>
    public long ByteLength => DataEnd - DataBegin;

    /// <summary>The shape as a fresh array, in the form TorchSharp factory methods take.</summary>
    public long[] ShapeArray() => [.. Shape];

    /// <summary>The shape written the way error messages and logs show it, e.g. <c>F32[2, 3]</c>.</summary>
    public string Describe() => $"{DType}[{string.Join(", ", Shape)}]";
}
