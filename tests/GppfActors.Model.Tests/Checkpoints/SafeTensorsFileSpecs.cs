using System.Buffers.Binary;
using System.Text;
using GppfActors.Model.Checkpoints;
using Xunit;
using static GppfActors.Model.Tests.Checkpoints.CheckpointFixtures;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Checkpoints;

/// <summary>Round trips and layout of the safetensors files <see cref="SafeTensorsFile"/> writes.</summary>
public sealed class SafeTensorsFileSpecs : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Should_return_bit_identical_tensors_of_every_dtype_when_saved_and_loaded()
    {
        var path = _directory.File("all.safetensors");
        var tensors = EveryDTypeAndShape(seed: 1);
        try
        {
            SafeTensorsFile.Save(path, tensors);
            var loaded = SafeTensorsFile.Load(path);
            try
            {
                // 10 dtypes x (matrix, cube, 0-d scalar, empty); bytes compared, so NaN payloads count.
                Assert.Equal(SafeTensorsDTypes.Names.Count * Shapes.Count, loaded.Count);
                AssertSameTensors(tensors, loaded);
            }
            finally
            {
                DisposeAll(loaded);
            }
        }
        finally
        {
            DisposeAll(tensors);
        }
    }

    [Fact]
    public void Should_write_tensors_in_sorted_key_order_when_the_dictionary_is_unsorted()
    {
        var path = _directory.File("order.safetensors");
        using var b = ones(2);
        using var c = ones(3);
        using var a = ones(1);
        SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["b"] = b, ["c"] = c, ["a"] = a });

        var header = SafeTensorsFile.ReadHeader(path);

        Assert.Equal(["a", "b", "c"], header.Names);
        Assert.Equal([(0L, 4L), (4L, 12L), (12L, 24L)], header.Tensors.Select(entry => (entry.DataBegin, entry.DataEnd)));
    }

    [Fact]
    public void Should_pad_the_header_with_spaces_to_a_multiple_of_8_when_saving()
    {
        var path = _directory.File("padded.safetensors");
        using var odd = ones(3, dtype: ScalarType.Int8);
        SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["odd_name"] = odd });

        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var headerText = Encoding.UTF8.GetString(bytes, 8, headerLength);

        Assert.Equal(0, headerLength % 8);
        Assert.Equal(headerText.TrimEnd(' ').Length, headerText.IndexOf("}}", StringComparison.Ordinal) + 2);
        Assert.Equal(8 + headerLength + 3, bytes.Length);
    }

    [Fact]
    public void Should_report_names_dtypes_shapes_and_metadata_when_reading_only_the_header()
    {
        var path = _directory.File("header.safetensors");
        using var weight = zeros(2, 3, dtype: ScalarType.BFloat16);
        using var count = tensor(7L);
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["run"] = "{\"lr\": 0.1}" };
        SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["w"] = weight, ["n"] = count }, metadata);

        var header = SafeTensorsFile.ReadHeader(path);

        Assert.True(header.TryGet("w", out var w));
        Assert.Equal("BF16[2, 3]", w.Describe());
        Assert.Equal(ScalarType.BFloat16, w.ScalarType);
        Assert.True(header.TryGet("n", out var n));
        Assert.Equal("I64[]", n.Describe());
        Assert.Equal(ScalarType.Int64, n.ScalarType);
        Assert.Equal(metadata, header.Metadata);
        Assert.Equal(0, header.DataStart % 8);
    }

    [Fact]
    public void Should_store_the_values_in_row_major_order_when_the_tensor_is_a_transposed_view()
    {
        var path = _directory.File("view.safetensors");
        using var source = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var transposed = source.t();
        SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["t"] = transposed });

        var loaded = SafeTensorsFile.Load(path);
        try
        {
            Assert.Equal(new long[] { 3, 2 }, loaded["t"].shape);
            Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, loaded["t"].data<float>().ToArray());
        }
        finally
        {
            DisposeAll(loaded);
        }
    }

    [Fact]
    public void Should_refuse_and_write_nothing_when_a_tensor_has_an_unsupported_dtype()
    {
        var path = _directory.File("complex.safetensors");
        using var complexTensor = zeros(2, dtype: ScalarType.ComplexFloat32);

        var error = Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["z"] = complexTensor }));

        Assert.Contains("'z'", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".tmp"));
    }
}
