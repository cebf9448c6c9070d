using System.Text.Json;
using System.Text.Json.Serialization;

namespace GppfActors.Tasks.Formats;

/// <summary>Writes a COCO JSON file (images, categories, annotations with bbox and polygons) that <see cref="CocoReader"/> and pycocotools read.</summary>
public static class CocoWriter
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    /// <summary>Writes <paramref name="document"/>; the output bytes depend only on the document.</summary>
    public static void Write(string path, CocoDocument document)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var partial = path + ".partial";
        File.WriteAllBytes(partial, JsonSerializer.SerializeToUtf8Bytes(document, Options));
        File.Move(partial, path, overwrite: true);
    }
}

/// <summary>The serialised shape of a COCO file, field names as COCO spells them.</summary>
public sealed record CocoDocument(
    [property: JsonPropertyName("images")] IReadOnlyList<CocoImageEntry> Images,
    [property: JsonPropertyName("categories")] IReadOnlyList<CocoCategoryEntry> Categories,
    [property: JsonPropertyName("annotations")] IReadOnlyList<CocoAnnotationEntry> Annotations);

/// <summary>A COCO <c>images</c> entry.</summary>
public sealed record CocoImageEntry(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("file_name")] string FileName,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height);

/// <summary>A COCO <c>categories</c> entry.</summary>
public sealed record CocoCategoryEntry(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("name")] string Name);

/// <summary>A COCO <c>annotations</c> entry: bbox is [x, y, w, h]; segmentation is a list of polygons.</summary>
public sealed record CocoAnnotationEntry(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("image_id")] long ImageId,
    [property: JsonPropertyName("category_id")] long CategoryId,
    [property: JsonPropertyName("bbox")] IReadOnlyList<double> Bbox,
    [property: JsonPropertyName("area")] double Area,
    [property: JsonPropertyName("iscrowd")] int IsCrowd,
    [property: JsonPropertyName("segmentation")] IReadOnlyList<IReadOnlyList<double>> Segmentation);
