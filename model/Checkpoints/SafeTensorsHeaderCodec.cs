using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace GppfActors.Model.Checkpoints;

/// <summary>
/// Encodes and decodes the JSON header of a safetensors file, and checks everything about a file
/// that the header alone can show, so that no tensor is allocated for a file that is bad.
/// </summary>
internal static class SafeTensorsHeaderCodec
{
    internal const string MetadataKey = "__metadata__";

    /// <summary>Bytes in the little-endian header length that opens every file.</summary>
    internal const int PrefixBytes = 8;

    // The reference implementation (huggingface/safetensors) refuses headers over 100 MB; the same cap
    // keeps a corrupt length prefix on a huge file from making us allocate gigabytes.
    internal const long MaxHeaderBytes = 100_000_000;

    // Padding the header to 8 bytes puts the data section on an 8-byte boundary, so a reader that
    // maps the file can view F64/I64 data in place; the reference writer pads the same way.
    private const int Alignment = 8;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // Relaxed escaping writes names like "a+b" as they are instead of \u002B; the header never lands
    // in HTML, so the HTML-safety escaping of the default encoder buys nothing and hurts readability.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The header bytes for these entries, padded with spaces to a multiple of 8.</summary>
    public static byte[] Encode(IReadOnlyList<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var pair in metadata.OrderBy(pair => pair.Key, StringComparer.Ordinal))
                {
                    json.WriteString(pair.Key, pair.Value);
                }
                json.WriteEndObject();
            }
            foreach (var entry in entries)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType);
                json.WriteStartArray("shape");
                foreach (var dimension in entry.Shape)
                {
                    json.WriteNumberValue(dimension);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(entry.DataBegin);
                json.WriteNumberValue(entry.DataEnd);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }

        var length = buffer.WrittenCount;
        var padded = new byte[(length + Alignment - 1) / Alignment * Alignment];
        buffer.WrittenSpan.CopyTo(padded);
        padded.AsSpan(length).Fill((byte)' ');
        return padded;
    }

    /// <summary>
    /// Reads the length prefix and header from the start of <paramref name="stream"/> and validates
    /// them against the stream's length; leaves the stream positioned at the data section.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed safetensors file.</exception>
    public static SafeTensorsHeader Read(Stream stream, string path)
    {
        var fileLength = stream.Length;
        if (fileLength < PrefixBytes)
        {
            throw Invalid(path, $"it is {fileLength} bytes long, shorter than the {PrefixBytes}-byte header length prefix");
        }

        Span<byte> prefix = stackalloc byte[PrefixBytes];
        stream.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - PrefixBytes))
        {
            throw Invalid(path, $"the header length {headerLength} is larger than the {fileLength - PrefixBytes} bytes that follow the length prefix");
        }
        if (headerLength > MaxHeaderBytes)
        {
            throw Invalid(path, $"the header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
        }

        var headerBytes = new byte[(int)headerLength];
        stream.ReadExactly(headerBytes);
        var dataStart = PrefixBytes + (long)headerLength;
        return Parse(headerBytes, dataStart, fileLength - dataStart, path);
    }

    private static SafeTensorsHeader Parse(byte[] headerBytes, long dataStart, long dataLength, string path)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(headerBytes);
        }
        catch (DecoderFallbackException exception)
        {
            throw Invalid(path, $"the header is not valid JSON: it is not UTF-8 ({exception.Message})", exception);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException exception)
        {
            throw Invalid(path, $"the header is not valid JSON: {exception.Message}", exception);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(path, $"the header is a JSON {root.ValueKind}, not an object");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
            var entries = new List<SafeTensorsEntry>();
            foreach (var property in root.EnumerateObject())
            {
                // JsonDocument keeps duplicate keys; two entries for one name would make the file ambiguous.
                if (!seen.Add(property.Name))
                {
                    throw Invalid(path, $"the header names '{property.Name}' more than once");
                }
                if (property.Name == MetadataKey)
                {
                    metadata = ParseMetadata(property.Value, path);
                }
                else
                {
                    entries.Add(ParseEntry(property.Name, property.Value, dataLength, path));
                }
            }

            entries.Sort((a, b) => a.DataBegin != b.DataBegin ? a.DataBegin.CompareTo(b.DataBegin) : a.DataEnd.CompareTo(b.DataEnd));
            CheckLayout(entries, dataLength, path);
            return new SafeTensorsHeader(entries.AsReadOnly(), metadata, dataStart);
        }
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, $"'{MetadataKey}' is a JSON {value.ValueKind}, not an object of strings");
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                throw Invalid(path, $"'{MetadataKey}' key '{property.Name}' holds a JSON {property.Value.ValueKind}, not a string");
            }
            if (!metadata.TryAdd(property.Name, property.Value.GetString()!))
            {
                throw Invalid(path, $"'{MetadataKey}' names key '{property.Name}' more than once");
            }
        }
        return metadata;
    }

    private static SafeTensorsEntry ParseEntry(string name, JsonElement value, long dataLength, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, $"tensor '{name}' is described by a JSON {value.ValueKind}, not an object");
        }
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Invalid(path, $"tensor '{name}' has no string \"dtype\"");
        }
        var dtype = dtypeElement.GetString()!;
        if (!SafeTensorsDTypes.TryParse(dtype, out var scalarType))
        {
            throw Invalid(path, $"tensor '{name}' has unknown dtype '{dtype}' (supported: {string.Join(", ", SafeTensorsDTypes.Names)})");
        }

        var shape = ReadNonNegativeIntegers(value, "shape", name, path);
        var offsets = ReadNonNegativeIntegers(value, "data_offsets", name, path);
        if (offsets.Length != 2)
        {
            throw Invalid(path, $"tensor '{name}' has {offsets.Length} \"data_offsets\" instead of 2");
        }
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end || end > dataLength)
        {
            throw Invalid(path, $"tensor '{name}' has data_offsets [{begin}, {end}] out of range of the {dataLength}-byte data section");
        }

        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (product, dimension) => product * dimension) * SafeTensorsDTypes.ElementSize(scalarType));
        }
        catch (OverflowException)
        {
            throw Invalid(path, $"tensor '{name}' has shape [{string.Join(", ", shape)}], too large for 64-bit byte counts");
        }
        if (end - begin != expected)
        {
            throw Invalid(path, $"tensor '{name}' has data_offsets [{begin}, {end}] holding {end - begin} bytes, "
                + $"but {dtype} with shape [{string.Join(", ", shape)}] needs {expected}");
        }
        return new SafeTensorsEntry(name, dtype, scalarType, Array.AsReadOnly(shape), begin, end);
    }

    private static long[] ReadNonNegativeIntegers(JsonElement entry, string field, string name, string path)
    {
        if (!entry.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(path, $"tensor '{name}' has no \"{field}\" array");
        }
        var values = new long[array.GetArrayLength()];
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var number) || number < 0)
            {
                throw Invalid(path, $"tensor '{name}' has \"{field}\" item {item.GetRawText()}, not a non-negative integer");
            }
            values[index++] = number;
        }
        return values;
    }

    // Entries arrive sorted by (begin, end). The format requires the data section to be covered
    // exactly once, with no holes: overlaps would let one write corrupt another tensor, and holes or
    // trailing bytes mean the header and the data disagree (a truncated or spliced file).
    private static void CheckLayout(List<SafeTensorsEntry> entries, long dataLength, string path)
    {
        long covered = 0;
        SafeTensorsEntry? previous = null;
        foreach (var entry in entries)
        {
            if (entry.DataBegin < covered)
            {
                throw Invalid(path, $"tensor '{entry.Name}' data_offsets [{entry.DataBegin}, {entry.DataEnd}] overlap "
                    + $"tensor '{previous!.Name}' data_offsets [{previous.DataBegin}, {previous.DataEnd}]");
            }
            if (entry.DataBegin > covered)
            {
                throw Invalid(path, $"bytes [{covered}, {entry.DataBegin}) of the data section, before tensor '{entry.Name}', belong to no tensor");
            }
            covered = entry.DataEnd;
            previous = entry;
        }
        if (covered != dataLength)
        {
            throw Invalid(path, $"the data section is {dataLength} bytes but its tensors cover only {covered}");
        }
    }

    internal static InvalidDataException Invalid(string path, string problem, Exception? inner = null) =>
        new($"Safetensors file '{path}' is invalid: {problem}.", inner);
}
