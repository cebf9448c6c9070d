using System.Globalization;
using System.Runtime.InteropServices;

/// <summary>The process's resident memory from /proc/self/status, and the two Linux knobs that make a peak measurable per phase.</summary>
internal static class ProcessMemory
{
    /// <summary>A field of /proc/self/status in bytes (VmRSS: resident now, VmHWM: resident peak).</summary>
    public static long Read(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                var kb = line[(field.Length + 1)..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"/proc/self/status has no {field}");
    }

    /// <summary>
    /// Returns freed heap memory to the kernel (so the next phase's growth shows in VmRSS) and
    /// resets VmHWM to the current VmRSS (writing 5 to clear_refs, Linux 4.0 and later).
    /// </summary>
    public static void ResetPeak()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        _ = MallocTrim(0);
        File.WriteAllText("/proc/self/clear_refs", "5");
    }

    // DllImport: the signature is blittable, and LibraryImport would need unsafe code in the project.
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
