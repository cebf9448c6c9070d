using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Synthetic;

/// <summary>DIR/manifest.json: what was generated, by which generator version and seed, so a data set documents itself.</summary>
public sealed record SynthManifest(
    [property: JsonPropertyName("generator")] string Generator,
    [property: JsonPropertyName("generator_version")] int GeneratorVersion,
    [property: JsonPropertyName("seed")] long Seed,
    [property: JsonPropertyName("size")] string Size,
    [property: JsonPropertyName("classes")] IReadOnlyList<string> Classes,
    [property: JsonPropertyName("domains")] IReadOnlyList<string> Domains,
    [property: JsonPropertyName("tasks")] IReadOnlyList<SynthManifestTask> Tasks)
{
    // Relaxed escaping: the manifest is a file for people to read, and the default encoder writes '+' as \u002B.
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public void Write(string path)
    {
        var partial = path + ".partial";
        File.WriteAllBytes(partial, JsonSerializer.SerializeToUtf8Bytes(this, Options));
        File.Move(partial, path, overwrite: true);
    }

    public static SynthManifest Read(string root)
    {
        var path = Path.Combine(root, SynthLayout.ManifestFile);
        try
        {
            return JsonSerializer.Deserialize<SynthManifest>(File.ReadAllBytes(path))
                ?? throw new DataFormatException(path, "empty manifest");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException(path, "file not found (generate the data set with: gppf synth --out DIR --seed S)", inner: e);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, $"invalid manifest: {e.Message}", e.Path, e);
        }
    }
}

/// <summary>One task of the manifest: its on-disk format, image size, label conventions and splits.</summary>
public sealed record SynthManifestTask(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("image_width")] int ImageWidth,
    [property: JsonPropertyName("image_height")] int ImageHeight,
    [property: JsonPropertyName("labels")] string Labels,
    [property: JsonPropertyName("splits")] IReadOnlyList<SynthManifestSplit> Splits);

/// <summary>One split of a task: folder (relative, '/'-separated), image count, and images per domain.</summary>
public sealed record SynthManifestSplit(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("domain_counts")] IReadOnlyList<int> DomainCounts);
