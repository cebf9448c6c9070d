using System.Runtime.InteropServices;

namespace GppfActors.Model.Checkpoints;

/// <summary>
/// Replaces a file so that a crash at any moment leaves either the complete old file or the complete
/// new one: write a sibling <c>.tmp</c>, fsync it, rename it over the target, fsync the directory.
/// </summary>
/// <remarks>
/// One writer per path is assumed: two concurrent writers would share the <c>.tmp</c> name.
/// </remarks>
public static partial class DurableFile
{
    /// <summary>The suffix of the temporary sibling that a write goes to before the rename.</summary>
    public const string TemporarySuffix = ".tmp";

    // Large buffered writes go straight to the OS; the buffer only batches the small header writes.
    private const int BufferBytes = 1 << 20;

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/> and makes the result durable.</summary>
    public static void Replace(string path, Action<Stream> write)
    {
        var fullPath = Path.GetFullPath(path);
        var temporaryPath = fullPath + TemporarySuffix;
        try
        {
            // FileMode.Create truncates a .tmp left by a write that crashed earlier: it was never
            // renamed, so nothing else can be relying on it.
            using (var stream = new FileStream(temporaryPath, FileMode.Create, FileAccess.Write, FileShare.None, BufferBytes))
            {
                write(stream);
                // flushToDisk: without fsync before the rename, a power cut can leave the new name
                // pointing at a file whose blocks were never written.
                stream.Flush(flushToDisk: true);
            }
            // rename(2) on Linux: atomic, so readers see the old file or the new one, never a mix.
            File.Move(temporaryPath, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporaryPath);
            throw;
        }
        // The rename lives in the directory; until the directory is synced a crash may forget it.
        SyncDirectory(Path.GetDirectoryName(fullPath)!);
    }

    private static void TryDelete(string temporaryPath)
    {
        try
        {
            File.Delete(temporaryPath);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original failure is the one the caller needs to see, and the next
            // write truncates whatever is left.
        }
    }

    /// <summary>fsyncs a directory on Linux; other systems have no portable way, so it is skipped there.</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var descriptor = Open(directory, OpenReadOnly | OpenCloseOnExec);
        if (descriptor < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to fsync it (errno {Marshal.GetLastPInvokeError()})");
        }
        try
        {
            if (Fsync(descriptor) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // EINVAL: the file system cannot sync directories (some FUSE and network mounts); the
                // rename has happened and there is nothing more this process can do to make it durable.
                if (errno != ErrnoInvalidArgument)
                {
                    throw new IOException($"Cannot fsync directory '{directory}' (errno {errno})");
                }
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    // Values shared by every Linux architecture .NET runs on (x64, arm64, arm, riscv64). O_DIRECTORY is
    // left out on purpose: its value differs between x64 and arm64, and read-only open works on a
    // directory without it.
    private const int OpenReadOnly = 0;
    private const int OpenCloseOnExec = 0x80000;
    private const int ErrnoInvalidArgument = 22;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
