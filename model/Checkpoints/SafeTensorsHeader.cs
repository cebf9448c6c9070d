namespace GppfActors.Model.Checkpoints;

/// <summary>
/// Everything a safetensors file says about its contents except the tensor bytes: the entries in the
/// order their data lies in the file, the string metadata, and where the data section starts.
/// </summary>
public sealed class SafeTensorsHeader
{
    private readonly Dictionary<string, SafeTensorsEntry> _byName;

    internal SafeTensorsHeader(IReadOnlyList<SafeTensorsEntry> tensors, IReadOnlyDictionary<string, string> metadata, long dataStart)
    {
        Tensors = tensors;
        Metadata = metadata;
        DataStart = dataStart;
        _byName = tensors.ToDictionary(entry => entry.Name, StringComparer.Ordinal);
    }

    /// <summary>The tensors, ordered by where their data lies (which is sorted key order for files we write).</summary>
    public IReadOnlyList<SafeTensorsEntry> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Absolute file offset of the data section: 8 plus the header length.</summary>
    public long DataStart { get; }

    /// <summary>The tensor names, in data order.</summary>
    public IEnumerable<string> Names => Tensors.Select(entry => entry.Name);

    /// <summary>The entry for a tensor name, if the file has one.</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SafeTensorsEntry? entry) =>
        _byName.TryGetValue(name, out entry);
}
