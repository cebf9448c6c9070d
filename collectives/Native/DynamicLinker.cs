using System.Runtime.InteropServices;

namespace GppfActors.Collectives.Native;

/// <summary>
/// The dynamic linker's own entry points (<c>dlopen</c> with explicit flags, <c>dlerror</c>), which
/// <see cref="NativeLibrary"/> does not expose: .NET opens libraries with lazy binding, so a symbol
/// the library imports but the loaded LibTorch lacks would only kill the process at its first call.
/// Opening with <see cref="Now"/> resolves every import at once and reports the first one missing.
/// </summary>
internal static partial class DynamicLinker
{
    /// <summary>RTLD_LAZY: resolve function symbols at their first call.</summary>
    public const int Lazy = 0x1;

    /// <summary>RTLD_NOW: resolve every undefined symbol before dlopen returns.</summary>
    public const int Now = 0x2;

    /// <summary>RTLD_GLOBAL: make the library's symbols available to libraries opened later.</summary>
    public const int Global = 0x100;

    // libdl.so.2 exists on every glibc: before 2.34 it holds dlopen, since then it forwards to libc.
    private const string Library = "libdl.so.2";

    [LibraryImport(Library, EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr DlOpen(string path, int flags);

    [LibraryImport(Library, EntryPoint = "dlerror")]
    private static partial IntPtr DlError();

    /// <summary>
    /// Opens <paramref name="path"/> with <paramref name="flags"/>; on failure returns zero and the
    /// linker's message (which names the missing library, version or symbol). The handle is never
    /// closed: the libraries checked here stay loaded for the life of the process anyway.
    /// </summary>
    public static IntPtr TryOpen(string path, int flags, out string? error)
    {
        if (!OperatingSystem.IsLinux())
        {
            error = "immediate binding is checked on Linux only";
            return IntPtr.Zero;
        }
        DlError(); // clear a stale message
        IntPtr handle = DlOpen(path, flags);
        error = handle == IntPtr.Zero ? Marshal.PtrToStringUTF8(DlError()) ?? "dlopen failed without a message" : null;
        return handle;
    }
}
