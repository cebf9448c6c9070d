using TorchSharp;

namespace GppfActors.Model.Checkpoints;

/// <summary>
/// The one table of dtypes this project reads and writes in safetensors files: the format's dtype
/// name, the TorchSharp scalar type and the element size in bytes.
/// </summary>
public static class SafeTensorsDTypes
{
    // Kept as one table so the reader, the writer and the size checks cannot drift apart.
    private static readonly (string Name, torch.ScalarType Type, int Size)[] Table =
    [
        ("F64", torch.ScalarType.Float64, 8),
        ("F32", torch.ScalarType.Float32, 4),
        ("F16", torch.ScalarType.Float16, 2),
        ("BF16", torch.ScalarType.BFloat16, 2),
        ("I64", torch.ScalarType.Int64, 8),
        ("I32", torch.ScalarType.Int32, 4),
        ("I16", torch.ScalarType.Int16, 2),
        ("I8", torch.ScalarType.Int8, 1),
        ("U8", torch.ScalarType.Byte, 1),
        ("BOOL", torch.ScalarType.Bool, 1),
    ];

    /// <summary>The supported dtype names as they appear in a header.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(Table.Select(row => row.Name).ToArray());

    /// <summary>The supported scalar types, in the same order as <see cref="Names"/>.</summary>
    public static IReadOnlyList<torch.ScalarType> ScalarTypes { get; } = Array.AsReadOnly(Table.Select(row => row.Type).ToArray());

    /// <summary>The scalar type for a header dtype name; false for names outside the table.</summary>
    public static bool TryParse(string name, out torch.ScalarType type)
    {
        foreach (var row in Table)
        {
            // Ordinal: the format's names are case-sensitive ("F32", never "f32").
            if (string.Equals(row.Name, name, StringComparison.Ordinal))
            {
                type = row.Type;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>True when tensors of this scalar type can be written.</summary>
    public static bool IsSupported(torch.ScalarType type) => Array.Exists(Table, row => row.Type == type);

    /// <summary>The header dtype name for a scalar type.</summary>
    /// <exception cref="ArgumentException">The scalar type has no safetensors name in this table.</exception>
    public static string NameOf(torch.ScalarType type) => Row(type).Name;

    /// <summary>Bytes per element, as the format stores them (packed, little-endian).</summary>
    /// <exception cref="ArgumentException">The scalar type has no safetensors name in this table.</exception>
    public static int ElementSize(torch.ScalarType type) => Row(type).Size;

    private static (string Name, torch.ScalarType Type, int Size) Row(torch.ScalarType type)
    {
        foreach (var row in Table)
        {
            if (row.Type == type)
            {
                return row;
            }
        }
        throw new ArgumentException(
            $"Scalar type {type} cannot be stored in safetensors here; supported: {string.Join(", ", Table.Select(r => r.Type))}",
            nameof(type));
    }
}
