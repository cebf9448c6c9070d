using System.Runtime.InteropServices;

namespace GppfActors.Testing;

/// <summary>Sends signals to processes, for tests that kill a real process from outside.</summary>
public static class Signals
{
    private const int SigKill = 9;

    /// <summary>kill -9 <paramref name="pid"/>: no handler, finaliser or flush runs in that process.</summary>
    public static void Kill(int pid)
    {
        if (SendSignal(pid, SigKill) != 0)
        {
            throw new InvalidOperationException($"kill -9 {pid} failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    // DllImport: the signature is blittable, and LibraryImport would need unsafe code in the project.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
