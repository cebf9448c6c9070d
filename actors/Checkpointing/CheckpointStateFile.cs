using System.Text.Json;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Encodes and decodes <c>state.json</c>: step, epoch and metadata as fields, and the schedule,
/// sampler and config JSON embedded verbatim, so the file is readable JSON and the strings read back
/// byte for byte.
/// </summary>
internal static class CheckpointStateFile
{
    /// <summary>The state.json format this code writes; a reader refuses any other.</summary>
    public const int CurrentFormat = 1;

    /// <summary>The decoded non-tensor part of a checkpoint.</summary>
    public sealed record Content(
        long Step,
        long Epoch,
        string ScheduleStateJson,
        string SamplerStateJson,
        string ConfigJson,
        IReadOnlyDictionary<string, string> Metadata);

    public static byte[] Encode(CheckpointPayload payload)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("format", CurrentFormat);
            writer.WriteNumber("step", payload.Step);
            writer.WriteNumber("epoch", payload.Epoch);
            writer.WriteStartObject("metadata");
            foreach (var (key, value) in payload.Metadata.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                writer.WriteString(key, value);
            }
            writer.WriteEndObject();
            // WriteRawValue copies the text as is (after checking it is JSON); GetRawText on the way
            // back returns that same text, which a parse-and-reserialise would not.
            writer.WritePropertyName("schedule");
            writer.WriteRawValue(payload.ScheduleStateJson);
            writer.WritePropertyName("sampler");
            writer.WriteRawValue(payload.SamplerStateJson);
            writer.WritePropertyName("config");
            writer.WriteRawValue(payload.ConfigJson);
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <exception cref="InvalidDataException">The bytes are not a state.json this code wrote; the message says what is wrong.</exception>
    public static Content Decode(byte[] utf8Json)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8Json);
            var root = document.RootElement;
            var format = root.GetProperty("format").GetInt32();
            if (format != CurrentFormat)
            {
                throw new InvalidDataException($"format {format} is not the supported format {CurrentFormat}");
            }
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in root.GetProperty("metadata").EnumerateObject())
            {
                metadata.Add(property.Name, property.Value.GetString() ?? throw new InvalidDataException($"metadata '{property.Name}' is null"));
            }
            return new Content(
                root.GetProperty("step").GetInt64(),
                root.GetProperty("epoch").GetInt64(),
                root.GetProperty("schedule").GetRawText(),
                root.GetProperty("sampler").GetRawText(),
                root.GetProperty("config").GetRawText(),
                metadata);
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            // GetProperty throws KeyNotFoundException for a missing field, GetInt64 and friends
            // InvalidOperationException or FormatException for a wrong kind; all mean a damaged file.
            throw new InvalidDataException(exception.Message, exception);
        }
    }
}
