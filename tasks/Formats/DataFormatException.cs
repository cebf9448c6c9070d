namespace GppfActors.Tasks.Formats;

/// <summary>
/// A data file that cannot be used as it is: missing, corrupt, of the wrong kind, or (for JSON) with a
/// broken field or line. The message always starts with the file, and for JSON with the path of the field
/// (for CSV and list files with the line, as <c>file:LINE:</c>), so a user can go straight to the fault in a
/// data set of millions of files.
/// </summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string filePath, string detail, string? jsonPath = null, Exception? inner = null)
        : base(Compose(filePath, detail, jsonPath, null), inner)
    {
        FilePath = filePath;
        Detail = detail;
        JsonPath = jsonPath;
    }

    private DataFormatException(string filePath, int line, string detail)
        : base(Compose(filePath, detail, null, line))
    {
        FilePath = filePath;
        Detail = detail;
        Line = line;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }

    /// <summary>The field inside a JSON file, e.g. <c>annotations[17].image_id</c>; null for other files.</summary>
    public string? JsonPath { get; }

    /// <summary>The 1-based line inside a CSV or list file; null for other files.</summary>
    public int? Line { get; }

    /// <summary>What is wrong, without the file and field.</summary>
    public string Detail { get; }

    /// <summary>A fault on line <paramref name="line"/> (1-based) of a text file such as a CSV or a split list.</summary>
    public static DataFormatException AtLine(string filePath, int line, string detail) => new(filePath, line, detail);

    private static string Compose(string filePath, string detail, string? jsonPath, int? line) => (jsonPath, line) switch
    {
        (not null, _) => $"{filePath}: {jsonPath}: {detail}",
        (_, not null) => $"{filePath}:{line}: {detail}",
        _ => $"{filePath}: {detail}",
    };
}
