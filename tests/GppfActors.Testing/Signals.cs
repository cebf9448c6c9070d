using System.Runtime.InteropServices;

namespace GppfActors.Testing;

/// <summary>Sends signals to processes, for tests that kill a real process from outside.</summary>
public static class Signals
{
    private const int SigKill = 9;
    private const int SigCont = 18;
    private const int SigStop = 19;

    /// <summary>kill -9 <paramref name="pid"/>: no handler, finaliser or flush runs in that process.</summary>
    public static void Kill(int pid)
    {
        if (SendSignal(pid, SigKill) != 0)
        {
            throw new InvalidOperationException($"kill -9 {pid} failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>kill -STOP <paramref name="pid"/>: the process freezes (threads, sockets, heartbeats) until <see cref="Continue"/>.</summary>
    public static void Stop(int pid) => Send(pid, SigStop, "STOP");

    /// <summary>kill -CONT <paramref name="pid"/>: a stopped process runs on.</summary>
    public static void Continue(int pid) => Send(pid, SigCont, "CONT");

    private static void Send(int pid, int signal, string name)
    {
        if (SendSignal(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill -{name} {pid} failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    // DllImport: the signature is blittable, and LibraryImport would need unsafe code in the project.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
