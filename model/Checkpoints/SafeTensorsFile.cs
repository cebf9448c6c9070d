using static TorchSharp.torch;

namespace GppfActors.Model.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (8-byte little-endian header length, JSON header padded
/// to 8 bytes, raw little-endian tensor bytes) with crash-safe writes; our own code so checkpoints
/// need no Python and every byte on disk is ours to validate.
/// </summary>
public static class SafeTensorsFile
{
    // Tensors move to and from the file in slices of at most this many bytes, so a multi-GB tensor
    // never needs a managed buffer of its size and never hits Span's 2 GB limit.
    private const long ChunkBytes = 16L << 20;

    /// <summary>
    /// Writes <paramref name="tensors"/> (in sorted key order) and <paramref name="metadata"/> to
    /// <paramref name="path"/> crash-safely: a failed or interrupted save leaves the previous file intact.
    /// </summary>
    /// <exception cref="ArgumentException">A name is reserved or a tensor's dtype is not supported.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        RequireLittleEndianHost();

        // Ordinal sort: the same dictionary always gives the same bytes, whatever the culture.
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        var entries = new List<SafeTensorsEntry>(names.Length);
        long offset = 0;
        foreach (var name in names)
        {
            if (name == SafeTensorsHeaderCodec.MetadataKey)
            {
                throw new ArgumentException($"'{name}' is reserved for metadata and cannot name a tensor", nameof(tensors));
            }
            var tensor = tensors[name];
            if (!SafeTensorsDTypes.IsSupported(tensor.dtype))
            {
                throw new ArgumentException($"Tensor '{name}' has dtype {tensor.dtype}, which safetensors files here do not support", nameof(tensors));
            }
            var length = checked(tensor.numel() * SafeTensorsDTypes.ElementSize(tensor.dtype));
            entries.Add(new SafeTensorsEntry(name, SafeTensorsDTypes.NameOf(tensor.dtype), tensor.dtype, Array.AsReadOnly(tensor.shape), offset, offset + length));
            offset += length;
        }
        var header = SafeTensorsHeaderCodec.Encode(entries, metadata);

        DurableFile.Replace(path, stream =>
        {
            Span<byte> prefix = stackalloc byte[SafeTensorsHeaderCodec.PrefixBytes];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            foreach (var entry in entries)
            {
                WriteData(stream, tensors[entry.Name]);
            }
        });
    }

    /// <summary>Reads every tensor in <paramref name="path"/> onto the CPU; the caller owns (and disposes) them.</summary>
    /// <remarks>
    /// When the caller has a dispose scope open, the tensors join it, as TorchSharp factory results do.
    /// </remarks>
    /// <exception cref="InvalidDataException">The file is not a well-formed safetensors file; the message names it.</exception>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, checkHeader: null);

    /// <summary>
    /// Like <see cref="Load(string)"/>, but lets <paramref name="checkHeader"/> refuse the file (by
    /// throwing) after its header is read and before any tensor is allocated; header and data come
    /// from one open file, so a file replaced in between cannot slip past the check.
    /// </summary>
    internal static Dictionary<string, Tensor> Load(string path, Action<SafeTensorsHeader>? checkHeader)
    {
        ArgumentNullException.ThrowIfNull(path);
        RequireLittleEndianHost();
        using var stream = OpenRead(path);
        var header = SafeTensorsHeaderCodec.Read(stream, path);
        checkHeader?.Invoke(header);

        var result = new Dictionary<string, Tensor>(header.Tensors.Count, StringComparer.Ordinal);
        // The scope frees every tensor made so far if reading fails part way, and frees the views
        // used for chunked reads; only the finished tensors are moved out to the caller.
        using (var scope = NewDisposeScope())
        {
            foreach (var entry in header.Tensors)
            {
                stream.Position = header.DataStart + entry.DataBegin;
                var tensor = empty(entry.ShapeArray(), entry.ScalarType);
                ReadData(stream, tensor);
                result.Add(entry.Name, tensor);
            }
            foreach (var tensor in result.Values)
            {
                tensor.MoveToOuterDisposeScope();
            }
        }
        return result;
    }

    /// <summary>Reads the names, dtypes, shapes and metadata in <paramref name="path"/> without reading tensor data.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed safetensors file; the message names it.</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = OpenRead(path);
        return SafeTensorsHeaderCodec.Read(stream, path);
    }

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096, FileOptions.SequentialScan);

    private static void WriteData(Stream stream, Tensor tensor)
    {
        if (tensor.numel() == 0)
        {
            return;
        }
        // The scope owns the CPU copy and slice views (never the caller's tensor, which was made
        // outside it); detach keeps autograd from recording the copy.
        using var scope = NewDisposeScope();
        var flat = tensor.detach().cpu().contiguous().reshape(-1);
        foreach (var (start, count) in Chunks(flat))
        {
            using var slice = flat.narrow(0, start, count);
            stream.Write(slice.bytes);
        }
    }

    private static void ReadData(Stream stream, Tensor tensor)
    {
        if (tensor.numel() == 0)
        {
            return;
        }
        var flat = tensor.view(-1);
        foreach (var (start, count) in Chunks(flat))
        {
            using var slice = flat.narrow(0, start, count);
            // bytes is a view of the tensor's own storage: the file is read straight into it.
            stream.ReadExactly(slice.bytes);
        }
    }

    private static IEnumerable<(long Start, long Count)> Chunks(Tensor flat)
    {
        var total = flat.numel();
        var perChunk = Math.Max(1, ChunkBytes / flat.element_size());
        for (long start = 0; start < total; start += perChunk)
        {
            yield return (start, Math.Min(perChunk, total - start));
        }
    }

    // The format is little-endian and tensors are copied byte for byte; a big-endian host would need
    // byte swapping that nothing here does, so refuse rather than write garbage.
    private static void RequireLittleEndianHost()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Safetensors reading and writing here assumes a little-endian host");
        }
    }
}
