namespace GppfActors.Actors.Messages;

/// <summary>
/// The types Hyperion may deserialise from the network: the project's own (every message and the
/// data records inside them) and the plain .NET types those are made of (primitives, strings,
/// dates, arrays and the generic collections). Anything else, a type from another library or a
/// .NET type that runs code when built (processes, files, delegates), is refused, because Hyperion
/// would otherwise create any type a peer names (its documentation warns it is not safe on an
/// open network).
/// </summary>
public sealed class ProjectTypeFilter : Hyperion.ITypeFilter
{
    private static readonly string[] AllowedSystemTypes =
    [
        "System.String", "System.Boolean", "System.Char", "System.Byte", "System.SByte", "System.Int16", "System.UInt16",
        "System.Int32", "System.UInt32", "System.Int64", "System.UInt64", "System.Single", "System.Double", "System.Decimal",
        "System.DateTime", "System.DateTimeOffset", "System.TimeSpan", "System.Guid", "System.Object",
        "System.Collections.Generic.List`1", "System.Collections.Generic.Dictionary`2", "System.Collections.Generic.HashSet`1",
        "System.Collections.Generic.KeyValuePair`2", "System.Collections.DictionaryEntry", "System.Collections.Generic.GenericEqualityComparer`1",
        "System.Collections.Generic.NonRandomizedStringEqualityComparer", "System.Collections.Generic.ObjectEqualityComparer`1",
        "System.Collections.Generic.EqualityComparer`1", "System.OrdinalComparer", "System.Collections.Generic.Comparer`1",
        "System.Collections.ObjectModel.ReadOnlyCollection`1", "System.Collections.ObjectModel.ReadOnlyDictionary`2",
        "System.Nullable`1", "System.Collections.Generic.IReadOnlyList`1", "System.Collections.Generic.IReadOnlyDictionary`2", "System.Collections.Generic.IReadOnlyCollection`1", "System.Collections.Generic.IList`1", "System.Collections.Generic.IDictionary`2", "System.Collections.Generic.IEnumerable`1", "System.ValueTuple`2", "System.ValueTuple`3", "System.Tuple`2", "System.Tuple`3",
    ];

    /// <summary>The one instance the serializer is set up with.</summary>
    public static ProjectTypeFilter Instance { get; } = new();

    /// <summary>Whether <paramref name="typeName"/> (a type name as Hyperion writes it, possibly assembly-qualified and generic) may be created.</summary>
    public bool IsAllowed(string typeName)
    {
        foreach (var name in TypeNamesIn(typeName))
        {
            var element = name.TrimEnd(']', '[', ',', '*', '&');
            while (element.EndsWith("[]", StringComparison.Ordinal))
            {
                element = element[..^2];
            }
            // <>z__ReadOnlyArray`1 and friends: the read-only wrappers the C# compiler generates for
            // collection expressions, inside the assembly that uses them (ours).
            if (element.StartsWith("GppfActors.", StringComparison.Ordinal) || element.StartsWith("<>z__ReadOnly", StringComparison.Ordinal)
                || AllowedSystemTypes.Contains(element, StringComparer.Ordinal)
                || element.StartsWith("System.Collections.Generic.NonRandomizedStringEqualityComparer", StringComparison.Ordinal)
                || element.StartsWith("System.Collections.Immutable.", StringComparison.Ordinal))
            {
                continue;
            }
            return false;
        }
        return true;
    }

    // "System.Collections.Generic.List`1[[GppfActors.X, GppfActors.Actors]], System.Private.CoreLib"
    // names List`1 and GppfActors.X; assembly names (after a comma inside a bracket pair) are not types.
    private static IEnumerable<string> TypeNamesIn(string typeName)
    {
        var names = new List<string>();
        var current = new System.Text.StringBuilder();
        bool inAssembly = false;
        foreach (char c in typeName)
        {
            switch (c)
            {
                case '[':
                    Flush();
                    inAssembly = false;
                    break;
                case ']':
                    Flush();
                    inAssembly = false;
                    break;
                case ',':
                    Flush();
                    inAssembly = true;
                    break;
                default:
                    if (!inAssembly && !char.IsWhiteSpace(c))
                    {
                        current.Append(c);
                    }
                    break;
            }
        }
        Flush();
        return names;

        void Flush()
        {
            if (current.Length > 0)
            {
                names.Add(current.ToString());
                current.Clear();
            }
        }
    }
}
