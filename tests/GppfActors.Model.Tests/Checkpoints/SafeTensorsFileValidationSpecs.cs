using System.Buffers.Binary;
using System.Text;
using GppfActors.Model.Checkpoints;
using Xunit;

namespace GppfActors.Model.Tests.Checkpoints;

/// <summary>
/// Malformed files given to <see cref="SafeTensorsFile"/>: each must fail with an
/// <see cref="InvalidDataException"/> that names the file and the problem, never with a stray
/// exception or a half-built tensor.
/// </summary>
public sealed class SafeTensorsFileValidationSpecs : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Should_reject_the_file_when_it_is_shorter_than_the_length_prefix()
    {
        var path = _directory.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);

        AssertRejected(path, "shorter than the 8-byte");
    }

    [Fact]
    public void Should_reject_the_file_when_the_header_length_is_larger_than_the_file()
    {
        var path = _directory.File("long-header.safetensors");
        var bytes = new byte[8 + 16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);

        AssertRejected(path, "header length 1000 is larger");
    }

    [Fact]
    public void Should_reject_the_file_when_the_header_is_not_json()
    {
        var path = _directory.File("not-json.safetensors");
        WriteRaw(path, "{\"w\": {\"dtype\": \"F32\",", dataBytes: 0);

        AssertRejected(path, "not valid JSON");
    }

    [Fact]
    public void Should_reject_the_file_when_the_header_is_not_utf8()
    {
        var path = _directory.File("not-utf8.safetensors");
        WriteRaw(path, Encoding.Latin1.GetBytes("{\"\u00ff\": 1}"), dataBytes: 0);

        AssertRejected(path, "not valid JSON");
    }

    [Fact]
    public void Should_name_the_tensor_when_its_dtype_is_unknown()
    {
        var path = _directory.File("dtype.safetensors");
        WriteRaw(path, "{\"w\": {\"dtype\": \"F8_E4M3\", \"shape\": [2], \"data_offsets\": [0, 2]}}", dataBytes: 2);

        AssertRejected(path, "tensor 'w'", "unknown dtype 'F8_E4M3'");
    }

    [Fact]
    public void Should_name_the_tensor_when_its_data_offsets_are_out_of_range()
    {
        var path = _directory.File("range.safetensors");
        WriteRaw(path, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", dataBytes: 12);

        AssertRejected(path, "tensor 'w'", "data_offsets [0, 16] out of range");
    }

    [Fact]
    public void Should_name_the_tensor_when_its_data_offsets_end_before_they_begin()
    {
        var path = _directory.File("reversed.safetensors");
        WriteRaw(path, "{\"w\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [4, 0]}}", dataBytes: 4);

        AssertRejected(path, "tensor 'w'", "data_offsets [4, 0] out of range");
    }

    [Fact]
    public void Should_name_both_tensors_when_their_data_offsets_overlap()
    {
        var path = _directory.File("overlap.safetensors");
        WriteRaw(path,
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
            + " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
            dataBytes: 12);

        AssertRejected(path, "tensor 'b'", "overlap", "tensor 'a'");
    }

    [Fact]
    public void Should_name_the_tensor_when_its_byte_count_does_not_match_dtype_and_shape()
    {
        var path = _directory.File("size.safetensors");
        WriteRaw(path, "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", dataBytes: 8);

        AssertRejected(path, "tensor 'w'", "holding 8 bytes", "needs 12");
    }

    [Fact]
    public void Should_reject_the_file_when_data_bytes_belong_to_no_tensor()
    {
        var path = _directory.File("trailing.safetensors");
        WriteRaw(path, "{\"w\": {\"dtype\": \"I16\", \"shape\": [2], \"data_offsets\": [0, 4]}}", dataBytes: 6);

        AssertRejected(path, "6 bytes but its tensors cover only 4");
    }

    [Fact]
    public void Should_reject_the_file_when_a_tensor_name_appears_twice()
    {
        var path = _directory.File("duplicate.safetensors");
        WriteRaw(path,
            "{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]},"
            + " \"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [1, 2]}}",
            dataBytes: 2);

        AssertRejected(path, "names 'w' more than once");
    }

    [Fact]
    public void Should_reject_the_file_when_metadata_values_are_not_strings()
    {
        var path = _directory.File("metadata.safetensors");
        WriteRaw(path, "{\"__metadata__\": {\"epoch\": 3}}", dataBytes: 0);

        AssertRejected(path, "key 'epoch'", "not a string");
    }

    // Both entry points validate: a bad file must not pass ReadHeader and then fail differently in Load.
    private static void AssertRejected(string path, params string[] fragments)
    {
        var fromLoad = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Load(path));
        var fromHeader = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.ReadHeader(path));
        foreach (var error in new[] { fromLoad, fromHeader })
        {
            Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
            foreach (var fragment in fragments)
            {
                Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
            }
        }
    }

    private static void WriteRaw(string path, string header, int dataBytes) => WriteRaw(path, Encoding.UTF8.GetBytes(header), dataBytes);

    private static void WriteRaw(string path, byte[] header, int dataBytes)
    {
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }
}
