using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// A <see cref="FolderListing"/> saved as one binary file (in a run, under the run folder's <c>data-index/</c>), so a
/// resume reads the listing instead of walking millions of files. The file names the folder it lists (its full
/// path) and ends with a SHA-256 of everything before it; a file that is short, damaged, of another version or of
/// another folder is ignored and the folder listed again. Writes go to a uniquely named side file renamed into
/// place, so readers see a whole file or none, and nodes sharing a run folder may write the same entry at once.
/// </summary>
internal static class FolderListingCache
{
    private const string Extension = ".gppf-index";

    // Bumped whenever the file layout or what a listing keeps (the image extensions, hidden-entry rule) changes.
    private static readonly byte[] Magic = "GPPFIDX1"u8.ToArray();
    private const int Version = 1;
    private const int HashBytes = 32;

    /// <summary>The cache file of <paramref name="root"/>: the folder's last two names, readable, and a hash of its full path.</summary>
    public static string FileFor(string cacheDir, string root)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)).AsSpan(0, 8));
        var parent = Path.GetFileName(Path.GetDirectoryName(full)) ?? "";
        var slug = new string([.. $"{parent}-{Path.GetFileName(full)}".Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')]);
        return Path.Join(cacheDir, $"{slug}-{hash}{Extension}");
    }

    /// <summary>The cached listing of <paramref name="root"/>, or null when there is none usable.</summary>
    public static FolderListing? TryRead(string file, string root)
    {
        byte[] bytes;
        try
        {
            if (!File.Exists(file))
            {
                return null;
            }
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        try
        {
            return Parse(bytes, root);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or InvalidDataException or OverflowException or FormatException)
        {
            // A file written by a crashed or foreign process: listing again is always correct, only slower.
            return null;
        }
    }

    /// <summary>Saves <paramref name="listing"/>; failure (read-only or full disk) only costs the next open a listing.</summary>
    public static bool TryWrite(string file, FolderListing listing)
    {
        var side = $"{file}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            using (var stream = new FileStream(side, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var payload = Serialize(listing);
                stream.Write(payload);
                stream.Write(SHA256.HashData(payload));
                // Not fsynced before the rename: a file torn by a power cut fails its hash and is listed again.
            }
            File.Move(side, file, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(side);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Nothing more to do: the side file's name is unique, so it never stands in for the cache.
            }
            return false;
        }
    }

    private static byte[] Serialize(FolderListing listing)
    {
        using var memory = new MemoryStream(listing.NameBytes.Length + 4 * listing.NameOffsets.Length + 4096);
        using (var writer = new BinaryWriter(memory, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(BitConverter.IsLittleEndian);
            writer.Write(Path.GetFullPath(listing.Root));
            writer.Write(listing.Stamp.ListedAtTicks);
            writer.Write(listing.Stamp.RootWriteTicks);
            writer.Write(listing.NumFolders);
            for (var i = 0; i < listing.NumFolders; i++)
            {
                writer.Write(listing.FolderNameSpan[i]);
                writer.Write(listing.Stamp.FolderWriteTicks[i]);
                writer.Write(listing.FolderStartSpan[i + 1]);
            }
            writer.Write(listing.NumFiles);
            writer.Write(listing.NameBytes.Length);
            writer.Write(listing.NameBytes);
            writer.Write(MemoryMarshal.AsBytes(listing.NameOffsets));
        }
        return memory.ToArray();
    }

    private static FolderListing? Parse(byte[] bytes, string root)
    {
        if (bytes.Length < Magic.Length + HashBytes)
        {
            return null;
        }
        var payload = bytes.AsSpan(0, bytes.Length - HashBytes);
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashBytes)) || !payload.StartsWith(Magic))
        {
            return null;
        }
        using var reader = new BinaryReader(new MemoryStream(bytes, 0, payload.Length, writable: false), Encoding.UTF8);
        reader.ReadBytes(Magic.Length);
        if (reader.ReadInt32() != Version || reader.ReadBoolean() != BitConverter.IsLittleEndian
            || reader.ReadString() != Path.GetFullPath(root))
        {
            return null;
        }
        var listedAt = reader.ReadInt64();
        var rootWrite = reader.ReadInt64();
        var numFolders = reader.ReadInt32();
        Check(numFolders >= 0 && numFolders <= payload.Length);
        var folders = new string[numFolders];
        var folderWrites = new long[numFolders];
        var folderStarts = new int[numFolders + 1];
        for (var i = 0; i < numFolders; i++)
        {
            folders[i] = reader.ReadString();
            folderWrites[i] = reader.ReadInt64();
            folderStarts[i + 1] = reader.ReadInt32();
            Check(folderStarts[i + 1] >= folderStarts[i]);
        }
        var numFiles = reader.ReadInt32();
        var numBytes = reader.ReadInt32();
        Check(numFiles == folderStarts[numFolders] && numBytes >= 0 && numBytes <= payload.Length && (long)numFiles * sizeof(int) <= payload.Length);
        var names = reader.ReadBytes(numBytes);
        var offsets = new int[numFiles + 1];
        var offsetBytes = MemoryMarshal.AsBytes(offsets.AsSpan());
        Check(reader.Read(offsetBytes) == offsetBytes.Length && reader.BaseStream.Position == payload.Length && names.Length == numBytes);
        // The hash rules out damage; these rule out a well-formed file whose offsets would index outside the names.
        Check(offsets[0] == 0 && offsets[numFiles] == numBytes);
        for (var i = 0; i < numFiles; i++)
        {
            Check(offsets[i + 1] >= offsets[i]);
        }
        return new FolderListing(root, folders, folderStarts, names, offsets, new FolderStamp(listedAt, rootWrite, folderWrites), fromCache: true);
    }

    private static void Check(bool condition)
    {
        if (!condition)
        {
            throw new InvalidDataException("inconsistent index cache");
        }
    }
}
