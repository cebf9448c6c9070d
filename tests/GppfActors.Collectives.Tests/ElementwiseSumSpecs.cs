using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests;

public class ElementwiseSumSpecs
{
    public static TheoryData<ScalarType> Dtypes => [ScalarType.Float32, ScalarType.Float64, ScalarType.Int32, ScalarType.Int64];

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void Should_equal_libtorch_addition_when_the_length_is_not_a_vector_multiple(ScalarType dtype)
    {
        // 1,003 elements: full vectors plus a scalar tail; libtorch's own add is the reference.
        using var g = new Generator(42);
        var a = (randn(1003, generator: g, dtype: float64) * 1e6).to_type(dtype);
        var b = (randn(1003, generator: g, dtype: float64) * 1e6).to_type(dtype);
        if (dtype == ScalarType.Int32)
        {
            a[0] = int.MaxValue;   // wraps, like libtorch
            b[0] = 1;
        }
        var expected = a + b;
        var dest = a.bytes.ToArray();
        ElementwiseSum.AddInto(dtype, dest, b.bytes);
        var actual = empty_like(a);
        dest.CopyTo(actual.bytes);
        Assert.True(actual.eq(expected).all().item<bool>(), $"{dtype}: vectorised sum differs from libtorch's");
    }

    [Fact]
    public void Should_reject_when_buffers_differ_in_length()
    {
        var dest = new byte[16];
        Assert.Throws<ArgumentException>(() => ElementwiseSum.AddInto(ScalarType.Float32, dest, new byte[12]));
        Assert.Equal(new byte[16], dest);
    }
}
