using System.Text.RegularExpressions;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// An ImageNet class list: one WordNet synset id per line, optionally followed by its words
/// (<c>n01440764 tench, Tinca tinca</c>, as in ImageNet-1K's <c>LOC_synset_mapping.txt</c>; or the bare ids of
/// ImageNet-21K's winter-21 list). A synset's class index is its line's position among the ids, so the file, not
/// the folders present on disk, fixes the numbering.
/// </summary>
public sealed partial class SynsetList
{
    private readonly Dictionary<string, int> indexById;

    private SynsetList(string path, IReadOnlyList<SynsetEntry> entries)
    {
        Path = path;
        Entries = entries;
        indexById = entries.Select((e, i) => (e.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
    }

    public string Path { get; }

    /// <summary>Synsets in file order; the class index of a synset is its position here.</summary>
    public IReadOnlyList<SynsetEntry> Entries { get; }

    /// <summary>Reads the list; a line that does not start with a synset id, or repeats one, is an error naming the file and line. Blank lines are skipped.</summary>
    public static SynsetList Read(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException(path, "file not found", inner: e);
        }
        var entries = new List<SynsetEntry>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }
            var space = line.IndexOfAny([' ', '\t', ',']);
            var id = space < 0 ? line : line[..space];
            if (!SynsetId().IsMatch(id))
            {
                throw DataFormatException.AtLine(path, i + 1, $"expected a WordNet synset id such as n01440764 at the start of the line, found '{id}'");
            }
            if (seen.TryGetValue(id, out var first))
            {
                throw DataFormatException.AtLine(path, i + 1, $"synset {id} is listed twice (first on line {first})");
            }
            seen[id] = i + 1;
            var words = space < 0 ? "" : line[(space + 1)..].Trim();
            entries.Add(new SynsetEntry(id, words.Length > 0 ? words : id, i + 1));
        }
        if (entries.Count == 0)
        {
            throw new DataFormatException(path, "the synset list is empty");
        }
        return new SynsetList(path, entries);
    }

    /// <summary>The class index of <paramref name="synset"/>, or null when the list does not hold it.</summary>
    public int? IndexOf(string synset) => indexById.TryGetValue(synset, out var i) ? i : null;

    [GeneratedRegex("^n[0-9]{8}$")]
    private static partial Regex SynsetId();
}

/// <summary>One synset of a class list: its id, its words (the id when the list has none) and its line.</summary>
public sealed record SynsetEntry(string Id, string Words, int Line);
