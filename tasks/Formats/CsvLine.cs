using System.Text;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// Splits one line of RFC 4180 CSV (fields separated by commas, a field in double quotes may hold commas and doubled
/// quotes). The Open Images files need no more: one record per line, no line breaks inside quotes.
/// </summary>
public static class CsvLine
{
    /// <summary>The fields of <paramref name="line"/>; null when a quoted field is not closed.</summary>
    public static string[]? Split(string line)
    {
        if (!line.Contains('"'))
        {
            return line.Split(',');
        }
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c != '"')
                {
                    field.Append(c);
                }
                else if (i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else
                {
                    quoted = false;
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }
        if (quoted)
        {
            return null;
        }
        fields.Add(field.ToString());
        return [.. fields];
    }
}
