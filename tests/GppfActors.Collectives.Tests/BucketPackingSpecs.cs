using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests;

public class BucketPackingSpecs
{
    [Fact]
    public void Should_copy_a_window_of_the_concatenation_when_it_spans_tensors()
    {
        Tensor[] tensors = [arange(3, dtype: float32), arange(10, 15, dtype: float32), empty(0), arange(20, 24, dtype: float32)];
        // Concatenation: 0 1 2 | 10 11 12 13 14 | | 20 21 22 23; window [2, 9) = 2 10 11 12 13 14 20.
        var buffer = new byte[7 * 4];
        BucketPacking.Pack(tensors, 2, 7, 4, buffer);
        TensorAssert.Equal(tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(buffer).ToArray()),
            tensor(new float[] { 2, 10, 11, 12, 13, 14, 20 }), "packed");

        var back = new float[] { -1, -2, -3, -4, -5, -6, -7 };
        BucketPacking.Unpack(System.Runtime.InteropServices.MemoryMarshal.AsBytes(back.AsSpan()), tensors, 2, 7, 4);
        TensorAssert.Equal(tensors[0], tensor(new float[] { 0, 1, -1 }), "first");
        TensorAssert.Equal(tensors[1], tensor(new float[] { -2, -3, -4, -5, -6 }), "second");
        TensorAssert.Equal(tensors[3], tensor(new float[] { -7, 21, 22, 23 }), "last, outside the window untouched");
    }

    [Fact]
    public void Should_reject_when_a_dtype_is_not_summable()
    {
        var error = Assert.Throws<ArgumentException>(() => BucketPacking.CheckTensors([ones(2, dtype: float16)], ScalarType.Float16, "grads"));
        Assert.Contains("grads", error.Message);
    }
}
