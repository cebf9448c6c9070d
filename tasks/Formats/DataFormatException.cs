namespace GppfActors.Tasks.Formats;

/// <summary>
/// A data file that cannot be used as it is: missing, corrupt, of the wrong kind, or (for JSON) with a
/// broken field. The message always starts with the file, and for JSON with the path of the field, so a
/// user can go straight to the fault in a data set of millions of files.
/// </summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string filePath, string detail, string? jsonPath = null, Exception? inner = null)
        : base(Compose(filePath, detail, jsonPath), inner)
    {
        FilePath = filePath;
        Detail = detail;
        JsonPath = jsonPath;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }

    /// <summary>The field inside a JSON file, e.g. <c>annotations[17].image_id</c>; null for other files.</summary>
    public string? JsonPath { get; }

    /// <summary>What is wrong, without the file and field.</summary>
    public string Detail { get; }

    private static string Compose(string filePath, string detail, string? jsonPath) =>
        jsonPath is null ? $"{filePath}: {detail}" : $"{filePath}: {jsonPath}: {detail}";
}
