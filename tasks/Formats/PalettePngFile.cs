using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// Reads and writes indexed-colour (palette) PNG label masks, the form PASCAL VOC ships its
/// <c>SegmentationClass</c> masks in: the pixel's palette index is its class, whatever colour the palette gives it.
/// The codec is decoded here rather than by the image library because a general decoder expands palette images
/// to colours, losing the indices; reading the chunks keeps them exactly.
/// </summary>
public static class PalettePngFile
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>
    /// The 256-colour palette of the VOC development kit (its <c>labelcolormap</c>: class bits spread over the high
    /// bits of R, G and B), so written masks look as VOC's do; index 255 is (224, 224, 192), VOC's border colour.
    /// </summary>
    public static IReadOnlyList<(byte R, byte G, byte B)> VocPalette { get; } = BuildVocPalette();

    /// <summary>
    /// Reads the palette indices of an 8-bit (or 1/2/4-bit) indexed PNG; an 8-bit grayscale PNG is read as its
    /// values, the form augmented sets such as SBD's converted masks use. Interlaced files are refused.
    /// </summary>
    public static LabelMask Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException(path, "file not found", inner: e);
        }
        catch (IOException e)
        {
            throw new DataFormatException(path, $"cannot read: {e.Message}", inner: e);
        }
        return Decode(path, bytes);
    }

    /// <summary>Writes an 8-bit indexed PNG whose pixel indices are the mask's labels, with <paramref name="palette"/> (at most 256 entries) as its PLTE.</summary>
    public static void Write(string path, LabelMask mask, IReadOnlyList<(byte R, byte G, byte B)> palette)
    {
        if (palette.Count is 0 or > 256)
        {
            throw new ArgumentException($"a PNG palette holds 1..256 colours, got {palette.Count}", nameof(palette));
        }
        using var stream = new MemoryStream();
        stream.Write(Signature);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, mask.Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), mask.Height);
        header[8] = 8;  // bit depth
        header[9] = 3;  // colour type: indexed
        WriteChunk(stream, "IHDR", header);
        WriteChunk(stream, "PLTE", [.. palette.SelectMany(c => new[] { c.R, c.G, c.B })]);
        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            {
                for (var y = 0; y < mask.Height; y++)
                {
                    z.WriteByte(0);  // filter: none
                    z.Write(mask.Labels, y * mask.Width, mask.Width);
                }
            }
            WriteChunk(stream, "IDAT", raw.ToArray());
        }
        WriteChunk(stream, "IEND", []);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var partial = path + ".partial";
        File.WriteAllBytes(partial, stream.ToArray());
        File.Move(partial, path, overwrite: true);
    }

    private static LabelMask Decode(string path, byte[] bytes)
    {
        if (bytes.Length < Signature.Length || !bytes.AsSpan(0, Signature.Length).SequenceEqual(Signature))
        {
            throw new DataFormatException(path, "a palette label mask must be a PNG (no PNG signature)");
        }
        int width = 0, height = 0, bitDepth = 0, colourType = -1, paletteSize = 0;
        using var compressed = new MemoryStream();
        var at = Signature.Length;
        var seenEnd = false;
        while (!seenEnd)
        {
            if (at + 12 > bytes.Length)
            {
                throw new DataFormatException(path, "truncated PNG (the file ends inside a chunk header; IEND never came)");
            }
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
            var type = Encoding.ASCII.GetString(bytes, at + 4, 4);
            if (length < 0 || at + 12 + (long)length > bytes.Length)
            {
                throw new DataFormatException(path, $"truncated PNG (chunk {type} of {length} bytes runs past the end of the file)");
            }
            var data = bytes.AsSpan(at + 8, length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 8 + length));
            if (crc != Crc(bytes.AsSpan(at + 4, length + 4)))
            {
                throw new DataFormatException(path, $"corrupt PNG (chunk {type} fails its CRC)");
            }
            switch (type)
            {
                case "IHDR":
                    if (length != 13)
                    {
                        throw new DataFormatException(path, "corrupt PNG (IHDR is not 13 bytes)");
                    }
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    bitDepth = data[8];
                    colourType = data[9];
                    if (data[12] != 0)
                    {
                        throw new DataFormatException(path, "interlaced PNG label masks are not supported; re-save the mask without interlacing");
                    }
                    break;
                case "PLTE":
                    paletteSize = length / 3;
                    break;
                case "IDAT":
                    compressed.Write(data);
                    break;
                case "IEND":
                    seenEnd = true;
                    break;
            }
            at += 12 + length;
        }
        var indexed = colourType == 3 && bitDepth is 1 or 2 or 4 or 8;
        if (!indexed && !(colourType == 0 && bitDepth == 8))
        {
            throw new DataFormatException(path, $"a palette label mask must be an indexed-colour PNG (or 8-bit grayscale), found colour type {colourType} at {bitDepth} bits");
        }
        if (width <= 0 || height <= 0)
        {
            throw new DataFormatException(path, $"corrupt PNG (size {width}x{height})");
        }
        if (indexed && paletteSize == 0)
        {
            throw new DataFormatException(path, "corrupt PNG (an indexed-colour image without a PLTE chunk)");
        }
        var stride = (width * bitDepth + 7) / 8;
        var filtered = Inflate(path, compressed, (long)height * (stride + 1));
        var labels = Unpack(path, filtered, width, height, bitDepth, stride);
        if (indexed)
        {
            var beyond = Array.FindIndex(labels, v => v >= paletteSize);
            if (beyond >= 0)
            {
                throw new DataFormatException(path, $"pixel ({beyond % width}, {beyond / width}) has palette index {labels[beyond]} but the palette has {paletteSize} colours");
            }
        }
        return new LabelMask(width, height, labels);
    }

    private static byte[] Inflate(string path, MemoryStream compressed, long expected)
    {
        var buffer = new byte[checked((int)expected)];
        compressed.Position = 0;
        try
        {
            using var z = new ZLibStream(compressed, CompressionMode.Decompress);
            z.ReadExactly(buffer);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new DataFormatException(path, $"corrupt PNG (image data does not inflate to {expected} bytes: {e.Message})", inner: e);
        }
        return buffer;
    }

    /// <summary>Undoes the per-row PNG filters (one byte per pixel or less, so the filter's left neighbour is one byte back) and unpacks sub-byte indices.</summary>
    private static byte[] Unpack(string path, byte[] filtered, int width, int height, int bitDepth, int stride)
    {
        var previous = new byte[stride];
        var row = new byte[stride];
        var labels = new byte[width * height];
        for (var y = 0; y < height; y++)
        {
            var start = y * (stride + 1);
            var filter = filtered[start];
            for (var i = 0; i < stride; i++)
            {
                var left = i > 0 ? row[i - 1] : 0;
                var up = previous[i];
                var upLeft = i > 0 ? previous[i - 1] : 0;
                var value = filtered[start + 1 + i];
                row[i] = filter switch
                {
                    0 => value,
                    1 => (byte)(value + left),
                    2 => (byte)(value + up),
                    3 => (byte)(value + ((left + up) >> 1)),
                    4 => (byte)(value + Paeth(left, up, upLeft)),
                    _ => throw new DataFormatException(path, $"corrupt PNG (row {y} has filter type {filter})"),
                };
            }
            var perByte = 8 / bitDepth;
            var maskBits = (1 << bitDepth) - 1;
            for (var x = 0; x < width; x++)
            {
                labels[y * width + x] = bitDepth == 8
                    ? row[x]
                    : (byte)((row[x / perByte] >> (8 - bitDepth * (x % perByte + 1))) & maskBits);
            }
            (previous, row) = (row, previous);
        }
        return labels;
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        var (pa, pb, pc) = (Math.Abs(p - a), Math.Abs(p - b), Math.Abs(p - c));
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        var typed = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type, typed);
        data.CopyTo(typed, 4);
        stream.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc(typed));
        stream.Write(word);
    }

    private static uint Crc(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        }
        return c ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            table[n] = c;
        }
        return table;
    }

    private static (byte R, byte G, byte B)[] BuildVocPalette()
    {
        var palette = new (byte R, byte G, byte B)[256];
        for (var i = 0; i < 256; i++)
        {
            int r = 0, g = 0, b = 0, c = i;
            for (var j = 0; j < 8; j++)
            {
                r |= ((c >> 0) & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            palette[i] = ((byte)r, (byte)g, (byte)b);
        }
        return palette;
    }
}
