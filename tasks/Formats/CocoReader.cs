using System.Text.Json;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// Parses and validates COCO JSON. It walks the document by hand rather than deserialising into classes
/// so that every error can name the exact field (<c>annotations[17].image_id: no image with id 42</c>).
/// </summary>
public static class CocoReader
{
    /// <summary>Reads <paramref name="annotationPath"/>; <c>file_name</c>s are resolved against <paramref name="imageRoot"/> and must exist.</summary>
    public static CocoDataset Read(string annotationPath, string imageRoot) => Read(annotationPath, imageRoot, CocoFlavor.Coco);

    /// <summary>
    /// Reads a file of the given dialect. With <paramref name="report"/>, an image whose file is missing is reported and
    /// left out (its annotations with it) instead of ending the read, so a check can list every missing file at once.
    /// </summary>
    public static CocoDataset Read(string annotationPath, string imageRoot, CocoFlavor flavor, Action<DataFormatException>? report = null)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(annotationPath));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException(annotationPath, "file not found", inner: e);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(annotationPath, $"invalid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {e.Message}", inner: e);
        }
        using (document)
        {
            return new Walker(annotationPath, imageRoot, flavor, report).Read(document.RootElement);
        }
    }

    /// <summary>One validation pass over one file; carries the file name so every error can cite it.</summary>
    private sealed class Walker(string file, string imageRoot, CocoFlavor flavor, Action<DataFormatException>? report)
    {
        private readonly HashSet<long> leftOut = [];

        public CocoDataset Read(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Fail("$", "expected a JSON object with images, annotations and categories");
            }
            var categories = ReadCategories(Array(root, "categories", "$"));
            var classIndexById = categories.Select((c, i) => (c.Id, i)).ToDictionary(p => p.Id, p => p.i);
            var images = ReadImages(Array(root, "images", "$"), classIndexById);
            var imagePositionById = images.Select((im, i) => (im.Id, i)).ToDictionary(p => p.Id, p => p.i);
            var objects = images.Select(_ => new List<CocoObject>()).ToArray();
            var annotationIds = new HashSet<long>();
            var annotations = Array(root, "annotations", "$");
            var index = 0;
            foreach (var a in annotations.EnumerateArray())
            {
                var at = $"annotations[{index++}]";
                RequireObject(a, at);
                var id = Integer(a, "id", at);
                if (!annotationIds.Add(id))
                {
                    throw Fail($"{at}.id", $"duplicate annotation id {id}");
                }
                var imageId = Integer(a, "image_id", at);
                if (leftOut.Contains(imageId))
                {
                    continue;
                }
                if (!imagePositionById.TryGetValue(imageId, out var imagePosition))
                {
                    throw Fail($"{at}.image_id", $"no image with id {imageId}");
                }
                var categoryId = Integer(a, "category_id", at);
                if (!classIndexById.TryGetValue(categoryId, out var classIndex))
                {
                    throw Fail($"{at}.category_id", $"no category with id {categoryId}");
                }
                var box = ReadBox(a, at);
                var isCrowd = a.TryGetProperty("iscrowd", out var crowd) && crowd.ValueKind == JsonValueKind.Number && crowd.GetDouble() != 0;
                var polygons = ReadSegmentation(a, at);
                var rle = ReadRle(a, at, images[imagePosition]);
                objects[imagePosition].Add(new CocoObject(id, classIndex, box[0], box[1], box[2], box[3], isCrowd, polygons) { Rle = rle });
            }
            var resolved = images.Select((im, i) => im with { Objects = objects[i] }).ToArray();
            return new CocoDataset(file, imageRoot, categories, resolved);
        }

        private CocoCategory[] ReadCategories(JsonElement array)
        {
            var list = new List<CocoCategory>();
            var ids = new HashSet<long>();
            var index = 0;
            foreach (var c in array.EnumerateArray())
            {
                var position = index++;
                var at = $"categories[{position}]";
                RequireObject(c, at);
                var id = Integer(c, "id", at);
                if (!ids.Add(id))
                {
                    throw Fail($"{at}.id", $"duplicate category id {id}");
                }
                list.Add(new CocoCategory(id, String(c, "name", at), position));
            }
            if (list.Count == 0)
            {
                throw Fail("categories", "no categories");
            }
            // COCO ids are sparse (1..90 for 80 classes); heads want contiguous indices, so number by sorted id.
            return [.. list.OrderBy(c => c.Id)];
        }

        private CocoImage[] ReadImages(JsonElement array, Dictionary<long, int> classIndexById)
        {
            var list = new List<CocoImage>();
            var ids = new HashSet<long>();
            var index = 0;
            foreach (var im in array.EnumerateArray())
            {
                var position = index++;
                var at = $"images[{position}]";
                RequireObject(im, at);
                var id = Integer(im, "id", at);
                if (!ids.Add(id))
                {
                    throw Fail($"{at}.id", $"duplicate image id {id}");
                }
                var (path, field) = ImageFile(im, at);
                if (!File.Exists(path))
                {
                    var missing = Fail($"{at}.{field}", $"file not found: {path}");
                    if (report is null)
                    {
                        throw missing;
                    }
                    report(missing);
                    leftOut.Add(id);
                    continue;
                }
                var width = OptionalPositive(im, "width", at);
                var height = OptionalPositive(im, "height", at);
                list.Add(new CocoImage(id, path, width, height, position, [])
                {
                    NotExhaustiveClassIndices = flavor == CocoFlavor.Lvis ? ClassIndices(im, "not_exhaustive_category_ids", at, classIndexById) : [],
                    NegativeClassIndices = flavor == CocoFlavor.Lvis ? ClassIndices(im, "neg_category_ids", at, classIndexById) : [],
                });
            }
            return [.. list];
        }

        /// <summary>The image's file under the dialect's naming rule, and the field that named it.</summary>
        private (string Path, string Field) ImageFile(JsonElement im, string at)
        {
            switch (flavor)
            {
                case CocoFlavor.Lvis when !im.TryGetProperty("file_name", out _):
                    var url = String(im, "coco_url", at);
                    var parts = url.Split('/', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length < 2)
                    {
                        throw Fail($"{at}.coco_url", $"expected a URL ending in <split>/<file>, found '{url}'");
                    }
                    return (Path.Combine(imageRoot, parts[^2], parts[^1]), "coco_url");
                case CocoFlavor.Objects365:
                    var name = String(im, "file_name", at);
                    var segments = name.Split('/', StringSplitOptions.RemoveEmptyEntries);
                    string[] candidates = segments.Length >= 2
                        ? [Path.Combine(imageRoot, name), Path.Combine(imageRoot, segments[^2], segments[^1]), Path.Combine(imageRoot, segments[^1])]
                        : [Path.Combine(imageRoot, name)];
                    return (candidates.FirstOrDefault(File.Exists) ?? candidates[0], "file_name");
                default:
                    return (Path.Combine(imageRoot, String(im, "file_name", at)), "file_name");
            }
        }

        /// <summary>An LVIS per-image category list as class indices; an id with no category is an error naming the field.</summary>
        private int[] ClassIndices(JsonElement im, string name, string at, Dictionary<long, int> classIndexById)
        {
            var array = Array(im, name, at);
            var indices = new List<int>();
            var i = 0;
            foreach (var v in array.EnumerateArray())
            {
                var vat = $"{at}.{name}[{i++}]";
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var categoryId))
                {
                    throw Fail(vat, $"expected a category id, found {v.GetRawText()}");
                }
                if (!classIndexById.TryGetValue(categoryId, out var classIndex))
                {
                    throw Fail(vat, $"no category with id {categoryId}");
                }
                indices.Add(classIndex);
            }
            return [.. indices];
        }

        private float[] ReadBox(JsonElement a, string at)
        {
            var box = Array(a, "bbox", at);
            if (box.GetArrayLength() != 4 || box.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
            {
                throw Fail($"{at}.bbox", "expected [x, y, width, height] as 4 numbers");
            }
            var values = box.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            if (values[2] < 0 || values[3] < 0 || values.Any(v => !float.IsFinite(v)))
            {
                throw Fail($"{at}.bbox", $"width and height must be finite and >= 0, got [{string.Join(", ", values)}]");
            }
            return values;
        }

        private List<float[]> ReadSegmentation(JsonElement a, string at)
        {
            var polygons = new List<float[]>();
            if (!a.TryGetProperty("segmentation", out var seg) || seg.ValueKind is JsonValueKind.Null or JsonValueKind.Object)
            {
                // RLE (an object) is read by ReadRle.
                return polygons;
            }
            if (seg.ValueKind != JsonValueKind.Array)
            {
                throw Fail($"{at}.segmentation", "expected a list of polygons or an RLE object");
            }
            var p = 0;
            foreach (var polygon in seg.EnumerateArray())
            {
                var pat = $"{at}.segmentation[{p++}]";
                if (polygon.ValueKind != JsonValueKind.Array || polygon.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
                {
                    throw Fail(pat, "expected a polygon as a list of numbers x0, y0, x1, y1, ...");
                }
                var n = polygon.GetArrayLength();
                if (n < 6 || n % 2 != 0)
                {
                    throw Fail(pat, $"a polygon needs an even number (>= 6) of coordinates, got {n}");
                }
                polygons.Add([.. polygon.EnumerateArray().Select(v => (float)v.GetDouble())]);
            }
            return polygons;
        }

        /// <summary>
        /// An RLE segmentation's runs (compressed counts decoded here, so the file's text is not kept);
        /// its size must be the image's where the image declares one, and the runs must cover it.
        /// </summary>
        private CocoRle? ReadRle(JsonElement a, string at, CocoImage image)
        {
            if (!a.TryGetProperty("segmentation", out var seg) || seg.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            var path = $"{at}.segmentation";
            if (!seg.TryGetProperty("counts", out var counts) || !seg.TryGetProperty("size", out var size)
                || size.ValueKind != JsonValueKind.Array || size.GetArrayLength() != 2
                || !size[0].TryGetInt32(out int h) || !size[1].TryGetInt32(out int w) || h < 0 || w < 0)
            {
                throw Fail(path, "an RLE segmentation needs \"counts\" and \"size\": [height, width]");
            }
            if ((image.Height is int ih && ih != h) || (image.Width is int iw && iw != w))
            {
                throw Fail($"{path}.size", $"[{h}, {w}] is not the image's [{image.Height}, {image.Width}]");
            }
            long[] runs;
            try
            {
                runs = counts.ValueKind switch
                {
                    JsonValueKind.String => CocoSegmentation.DecodeCounts(counts.GetString()!),
                    JsonValueKind.Array => [.. counts.EnumerateArray().Select(c => c.GetInt64())],
                    _ => throw new FormatException("\"counts\" must be a string (compressed) or a list of integers (uncompressed)"),
                };
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw Fail($"{path}.counts", e.Message);
            }
            if (runs.Any(r => r < 0) || runs.Sum() != (long)h * w)
            {
                throw Fail($"{path}.counts", $"runs cover {runs.Sum()} pixels; the size [{h}, {w}] has {(long)h * w}");
            }
            return new CocoRle(h, w, runs);
        }

        private JsonElement Array(JsonElement parent, string name, string at)
        {
            var path = at == "$" ? name : $"{at}.{name}";
            if (!parent.TryGetProperty(name, out var value))
            {
                throw Fail(path, "missing");
            }
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw Fail(path, $"expected an array, found {value.ValueKind}");
            }
            return value;
        }

        private long Integer(JsonElement parent, string name, string at)
        {
            if (!parent.TryGetProperty(name, out var value))
            {
                throw Fail($"{at}.{name}", "missing");
            }
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var result))
            {
                throw Fail($"{at}.{name}", $"expected an integer, found {value.GetRawText()}");
            }
            return result;
        }

        private int? OptionalPositive(JsonElement parent, string name, string at)
        {
            if (!parent.TryGetProperty(name, out var value))
            {
                return null;
            }
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var result) || result <= 0)
            {
                throw Fail($"{at}.{name}", $"expected a positive integer, found {value.GetRawText()}");
            }
            return result;
        }

        private string String(JsonElement parent, string name, string at)
        {
            if (!parent.TryGetProperty(name, out var value))
            {
                throw Fail($"{at}.{name}", "missing");
            }
            if (value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(value.GetString()))
            {
                throw Fail($"{at}.{name}", $"expected a non-empty string, found {value.GetRawText()}");
            }
            return value.GetString()!;
        }

        private void RequireObject(JsonElement element, string at)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw Fail(at, $"expected an object, found {element.ValueKind}");
            }
        }

        private DataFormatException Fail(string jsonPath, string detail) => new(file, detail, jsonPath);
    }
}
