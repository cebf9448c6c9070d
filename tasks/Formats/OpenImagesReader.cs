using System.Globalization;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// Reads Open Images V6 (and the challenge-2019 files, which share the format): the class-descriptions CSV
/// (<c>LabelName,DisplayName</c> rows, with or without that header) and a <c>*-annotations-bbox.csv</c> with a
/// header naming at least ImageID, LabelName, XMin, XMax, YMin, YMax (IsGroupOf when present). Every error names
/// the CSV and the line.
/// </summary>
public static class OpenImagesReader
{
    private static readonly string[] RequiredColumns = ["ImageID", "LabelName", "XMin", "XMax", "YMin", "YMax"];

    /// <summary>The boxable classes, in file order.</summary>
    public static IReadOnlyList<OpenImagesClass> ReadClasses(string path)
    {
        var classes = new List<OpenImagesClass>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in Lines(path))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("LabelName,", StringComparison.Ordinal)))
            {
                continue;
            }
            var fields = CsvLine.Split(line);
            if (fields is null || fields.Length < 2 || !fields[0].StartsWith('/'))
            {
                throw DataFormatException.AtLine(path, lineNumber, $"expected LabelName,DisplayName (e.g. /m/011k07,Tortoise), found '{line}'");
            }
            if (seen.TryGetValue(fields[0], out var first))
            {
                throw DataFormatException.AtLine(path, lineNumber, $"class {fields[0]} is listed twice (first on line {first})");
            }
            seen[fields[0]] = lineNumber;
            classes.Add(new OpenImagesClass(fields[0], fields[1], lineNumber));
        }
        if (classes.Count == 0)
        {
            throw new DataFormatException(path, "no classes");
        }
        return classes;
    }

    /// <summary>
    /// Reads the boxes; images are <paramref name="imageDir"/>/ImageID.jpg and must exist. With <paramref name="report"/>,
    /// a bad row or missing image is reported and left out instead of ending the read.
    /// </summary>
    public static OpenImagesIndex Read(string classFile, string boxFile, string imageDir, Action<DataFormatException>? report = null)
    {
        var classes = ReadClasses(classFile);
        var classIndex = classes.Select((c, i) => (c.LabelName, i)).ToDictionary(p => p.LabelName, p => p.i, StringComparer.Ordinal);
        var boxesByImage = new Dictionary<string, List<OpenImagesBox>>(StringComparer.Ordinal);
        var order = new List<string>();
        var missing = new HashSet<string>(StringComparer.Ordinal);
        using var lines = Lines(boxFile).GetEnumerator();
        if (!lines.MoveNext())
        {
            throw new DataFormatException(boxFile, "empty file (expected a header line)");
        }
        var header = CsvLine.Split(lines.Current) ?? [];
        var columns = RequiredColumns.Select(c => Array.IndexOf(header, c)).ToArray();
        var absent = RequiredColumns.Where((_, i) => columns[i] < 0).ToArray();
        if (absent.Length > 0)
        {
            throw DataFormatException.AtLine(boxFile, 1, $"the header lacks {string.Join(", ", absent)} (found: {lines.Current})");
        }
        var groupColumn = Array.IndexOf(header, "IsGroupOf");
        var lineNumber = 1;
        while (lines.MoveNext())
        {
            lineNumber++;
            if (lines.Current.Length == 0)
            {
                continue;
            }
            try
            {
                var (imageId, box) = ParseRow(boxFile, lineNumber, lines.Current, header.Length, columns, groupColumn, classIndex);
                if (missing.Contains(imageId))
                {
                    continue;
                }
                if (!boxesByImage.TryGetValue(imageId, out var boxes))
                {
                    var file = Path.Combine(imageDir, imageId + ".jpg");
                    if (!File.Exists(file))
                    {
                        missing.Add(imageId);
                        throw DataFormatException.AtLine(boxFile, lineNumber, $"image {imageId} not found: {file}");
                    }
                    boxes = [];
                    boxesByImage[imageId] = boxes;
                    order.Add(imageId);
                }
                boxes.Add(box);
            }
            catch (DataFormatException e) when (report is not null)
            {
                report(e);
            }
        }
        var images = order.Select(id => new OpenImagesImage(id, Path.Combine(imageDir, id + ".jpg"), boxesByImage[id].ToArray())).ToArray();
        return new OpenImagesIndex(classFile, boxFile, classes, images);
    }

    private static (string ImageId, OpenImagesBox Box) ParseRow(
        string file, int lineNumber, string line, int numColumns, int[] columns, int groupColumn, Dictionary<string, int> classIndex)
    {
        var fields = CsvLine.Split(line);
        if (fields is null || fields.Length != numColumns)
        {
            throw DataFormatException.AtLine(file, lineNumber, $"expected {numColumns} fields as the header has, found {fields?.Length.ToString(CultureInfo.InvariantCulture) ?? "an unclosed quote"}");
        }
        var imageId = fields[columns[0]];
        if (imageId.Length == 0)
        {
            throw DataFormatException.AtLine(file, lineNumber, "empty ImageID");
        }
        if (!classIndex.TryGetValue(fields[columns[1]], out var label))
        {
            throw DataFormatException.AtLine(file, lineNumber, $"LabelName {fields[columns[1]]} is not in the class-descriptions file");
        }
        var c = new float[4];
        for (var k = 0; k < 4; k++)
        {
            var text = fields[columns[2 + k]];
            if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out c[k]) || !(c[k] >= 0f && c[k] <= 1f))
            {
                throw DataFormatException.AtLine(file, lineNumber, $"{RequiredColumns[2 + k]} must be a fraction of the image in 0..1, found '{text}'");
            }
        }
        var (xMin, xMax, yMin, yMax) = (c[0], c[1], c[2], c[3]);
        if (xMin > xMax || yMin > yMax)
        {
            throw DataFormatException.AtLine(file, lineNumber, $"the box is inverted (XMin {xMin}, XMax {xMax}, YMin {yMin}, YMax {yMax})");
        }
        var isGroupOf = groupColumn >= 0 && fields[groupColumn] == "1";
        return (imageId, new OpenImagesBox(xMin, yMin, xMax, yMax, label, isGroupOf));
    }

    private static IEnumerable<string> Lines(string path)
    {
        if (!File.Exists(path))
        {
            throw new DataFormatException(path, "file not found");
        }
        return File.ReadLines(path);
    }
}
