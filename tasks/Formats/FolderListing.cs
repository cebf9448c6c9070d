using System.IO.Enumeration;
using System.Text;

namespace GppfActors.Tasks.Formats;

/// <summary>
/// The image files of a two-level folder, ROOT/&lt;folder&gt;/*.png|jpg, held compactly enough for millions of
/// files: folder names once, every file name as UTF-8 in one byte array with an offset per file, and a path
/// made only when a sample asks for it (about 4 bytes plus the name's length per file, against ~150 bytes for
/// a record holding a full path string). Folders are in ordinal name order and files in ordinal name order
/// within a folder, hidden entries (leading '.') and non-images skipped, as the image folder has always listed.
/// </summary>
public sealed class FolderListing
{
    // A directory whose last write is this close to the listing's start may still change within the same
    // timestamp tick (2 s on FAT, 1 s on some network mounts) without its time moving; such a listing is not
    // cached, so a later change is never hidden behind an equal time stamp.
    internal static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(2);

    private static readonly EnumerationOptions AllEntries = new() { AttributesToSkip = 0, IgnoreInaccessible = false, RecurseSubdirectories = false };

    private readonly string[] folderNames;
    private readonly int[] folderStarts;
    private readonly byte[] nameBytes;
    private readonly int[] nameOffsets;

    internal FolderListing(string root, string[] folderNames, int[] folderStarts, byte[] nameBytes, int[] nameOffsets, FolderStamp stamp, bool fromCache)
    {
        Root = root;
        this.folderNames = folderNames;
        this.folderStarts = folderStarts;
        this.nameBytes = nameBytes;
        this.nameOffsets = nameOffsets;
        Stamp = stamp;
        FromCache = fromCache;
    }

    public string Root { get; }

    /// <summary>Sub-folder names in ordinal order.</summary>
    public IReadOnlyList<string> FolderNames => folderNames;

    public int NumFolders => folderNames.Length;

    public int NumFiles => nameOffsets.Length - 1;

    /// <summary>The write times the listing was taken at, which decide whether a cached copy is still current.</summary>
    internal FolderStamp Stamp { get; }

    /// <summary>True when the listing was read from the index cache rather than from the folder.</summary>
    public bool FromCache { get; }

    internal ReadOnlySpan<string> FolderNameSpan => folderNames;

    internal ReadOnlySpan<int> FolderStartSpan => folderStarts;

    internal ReadOnlySpan<byte> NameBytes => nameBytes;

    internal ReadOnlySpan<int> NameOffsets => nameOffsets;

    /// <summary>Managed bytes the listing holds (arrays and folder names), for reports.</summary>
    public long SizeBytes => nameBytes.Length + (nameOffsets.Length + folderStarts.Length) * sizeof(int) + folderNames.Sum(n => 24L + 2 * n.Length);

    /// <summary>Index of the first file of <paramref name="folder"/>; files of a folder are contiguous.</summary>
    public int FolderStart(int folder) => folderStarts[folder];

    public int FolderFileCount(int folder) => folderStarts[folder + 1] - folderStarts[folder];

    public string FileName(int file) => Encoding.UTF8.GetString(nameBytes, nameOffsets[file], nameOffsets[file + 1] - nameOffsets[file]);

    /// <summary>ROOT/folder/name of file <paramref name="file"/> of folder <paramref name="folder"/>, made now.</summary>
    public string PathOf(int folder, int file) => Path.Join(Root, folderNames[folder], FileName(file));

    public string FolderPath(int folder) => Path.Join(Root, folderNames[folder]);

    /// <summary>
    /// The listing of <paramref name="root"/>: from <paramref name="cacheDir"/> when a cached copy is there and the
    /// folder has not changed since (see <see cref="FolderListingCache"/>), otherwise from the folder, then cached
    /// there. Without a cache folder it always lists. A cache that cannot be read or written is never an error.
    /// </summary>
    public static FolderListing Open(string root, string? cacheDir = null)
    {
        if (!Directory.Exists(root))
        {
            throw new DataFormatException(root, "image folder not found");
        }
        if (cacheDir is null)
        {
            return List(root);
        }
        var cacheFile = FolderListingCache.FileFor(cacheDir, root);
        if (FolderListingCache.TryRead(cacheFile, root) is { } cached && cached.Stamp.IsCurrent(root, cached.folderNames))
        {
            return cached;
        }
        var listing = List(root);
        if (listing.Stamp.IsSettled)
        {
            FolderListingCache.TryWrite(cacheFile, listing);
        }
        return listing;
    }

    /// <summary>Lists <paramref name="root"/> from the file system.</summary>
    public static FolderListing List(string root)
    {
        var listedAt = DateTime.UtcNow;
        // Each write time is read before its directory is listed: a change during the listing then leaves the
        // stored time older than the directory's, and the next open lists again.
        var rootWrite = Directory.GetLastWriteTimeUtc(root).Ticks;
        var folders = Names(root, directories: true);
        var folderWrites = new long[folders.Length];
        var folderStarts = new int[folders.Length + 1];
        var names = new Utf8NameBuffer();
        for (var i = 0; i < folders.Length; i++)
        {
            var dir = Path.Join(root, folders[i]);
            folderWrites[i] = Directory.GetLastWriteTimeUtc(dir).Ticks;
            folderStarts[i] = names.Count;
            foreach (var name in Names(dir, directories: false))
            {
                names.Add(name);
            }
        }
        folderStarts[folders.Length] = names.Count;
        var (bytes, offsets) = names.ToArrays();
        return new FolderListing(root, folders, folderStarts, bytes, offsets, new FolderStamp(listedAt.Ticks, rootWrite, folderWrites), fromCache: false);
    }

    /// <summary>Sub-folders (or image files) of <paramref name="dir"/> in ordinal order, hidden entries left out.</summary>
    private static string[] Names(string dir, bool directories)
    {
        // FileSystemEnumerable hands out the entry's name as a span: no FileInfo and no full path per file, and a
        // string only for the entries that are kept. IsDirectory follows symbolic links, as Directory.GetFiles does.
        var names = new FileSystemEnumerable<string>(dir, static (ref FileSystemEntry e) => e.FileName.ToString(), AllEntries)
        {
            ShouldIncludePredicate = directories
                ? static (ref FileSystemEntry e) => e.IsDirectory && !e.FileName.StartsWith('.')
                : static (ref FileSystemEntry e) => !e.IsDirectory && !e.FileName.StartsWith('.') && IsImageName(e.FileName),
        }.ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        return names;
    }

    private static bool IsImageName(ReadOnlySpan<char> name)
    {
        var extension = Path.GetExtension(name);
        foreach (var known in ImageFiles.ImageExtensions)
        {
            if (extension.Equals(known, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>File names appended as UTF-8 to one growing array, with the offset where each begins.</summary>
    private sealed class Utf8NameBuffer
    {
        private byte[] bytes = new byte[1 << 16];
        private int[] offsets = new int[1 << 12];
        private int length;

        public int Count { get; private set; }

        public void Add(string name)
        {
            var needed = Encoding.UTF8.GetByteCount(name);
            if (length + needed > bytes.Length)
            {
                // Array.MaxLength bounds the names of one listing to about 2 GB (some 100 million files).
                var grown = Math.Max(length + needed, (int)Math.Min(Array.MaxLength, 2L * bytes.Length));
                Array.Resize(ref bytes, grown);
            }
            if (Count + 2 > offsets.Length)
            {
                Array.Resize(ref offsets, (int)Math.Min(Array.MaxLength, 2L * offsets.Length));
            }
            offsets[Count] = length;
            length += Encoding.UTF8.GetBytes(name, bytes.AsSpan(length));
            Count++;
        }

        /// <summary>Exact-size copies: the listing keeps no slack from the doubling.</summary>
        public (byte[] Bytes, int[] Offsets) ToArrays()
        {
            offsets[Count] = length;
            return (bytes[..length], offsets[..(Count + 1)]);
        }
    }
}

/// <summary>
/// The last-write times of a listed folder and its sub-folders, and when the listing began. Adding, removing or
/// renaming an entry changes its directory's time, so equal times mean the listing is still what a new one would
/// return; what this does not see is written down in docs/architecture.md (Data sets of millions of files).
/// </summary>
internal sealed record FolderStamp(long ListedAtTicks, long RootWriteTicks, long[] FolderWriteTicks)
{
    /// <summary>True when every directory had been left alone for <see cref="FolderListing.SettleTime"/> when listing began.</summary>
    public bool IsSettled
    {
        get
        {
            var limit = ListedAtTicks - FolderListing.SettleTime.Ticks;
            return RootWriteTicks < limit && FolderWriteTicks.All(t => t < limit);
        }
    }

    /// <summary>True when <paramref name="root"/> and each of <paramref name="folders"/> still has the stored write time.</summary>
    public bool IsCurrent(string root, ReadOnlySpan<string> folders)
    {
        // A missing directory reads as 1601-01-01, which never equals a stored time.
        if (Directory.GetLastWriteTimeUtc(root).Ticks != RootWriteTicks || folders.Length != FolderWriteTicks.Length)
        {
            return false;
        }
        for (var i = 0; i < folders.Length; i++)
        {
            if (Directory.GetLastWriteTimeUtc(Path.Join(root, folders[i])).Ticks != FolderWriteTicks[i])
            {
                return false;
            }
        }
        return true;
    }
}
