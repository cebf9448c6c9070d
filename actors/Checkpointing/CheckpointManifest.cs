using System.Text.Json;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// The contents of <c>manifest.json</c>: which step this is and every file with its size and hash.
/// Written last inside the <c>.tmp</c> directory, so a manifest on disk means the files before it
/// were complete and fsynced.
/// </summary>
public sealed record CheckpointManifest(int Format, long Step, long Epoch, IReadOnlyList<CheckpointManifestEntry> Files)
{
    /// <summary>The manifest format this code writes; a reader refuses any other.</summary>
    public const int CurrentFormat = 1;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        // A manifest with a field missing or null is damaged, not a manifest with defaults.
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>The manifest as UTF-8 JSON, the exact bytes whose hash the journal records.</summary>
    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, Options);

    /// <summary>Parses a manifest written by <see cref="ToUtf8Json"/>.</summary>
    /// <exception cref="JsonException">The bytes are not a manifest.</exception>
    public static CheckpointManifest Parse(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize<CheckpointManifest>(utf8Json, Options)
        ?? throw new JsonException("The manifest is the JSON literal null");
}
