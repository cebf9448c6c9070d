using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace GppfActors.Native;

/// <summary>
/// Caps oneDNN, libtorch's CPU kernel library for convolutions, at AVX2 on AMD processors of
/// family 1Ah and later (Zen 5): there its AVX-512 kernels (LibTorch 2.10, TorchSharp-cpu 0.107)
/// return NaN gradients now and then, on the same inputs that give finite ones the next time, so
/// bit-identical replicas and exact resume fail at random. oneDNN reads <c>DNNL_MAX_CPU_ISA</c>
/// once, at its first kernel; this sets it in the native environment when the assembly loads,
/// before any tensor maths. A value the user set is kept. Linked into every assembly of the
/// solution (whichever loads first does it), never referenced by name.
/// </summary>
internal static class OneDnnIsaGuard
{
    private const string Variable = "DNNL_MAX_CPU_ISA";

#pragma warning disable CA2255 // Runs before any code of the assembly: the point is to precede libtorch's first kernel.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply()
    {
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable(Variable) is null && IsAmdFamily1AhOrLater())
        {
            _ = setenv(Variable, "AVX2", 0);
        }
    }

    private static bool IsAmdFamily1AhOrLater()
    {
        if (!X86Base.IsSupported)
        {
            return false;
        }
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<int> vendor = [ebx, edx, ecx];
        if (!MemoryMarshal.AsBytes(vendor).SequenceEqual("AuthenticAMD"u8))
        {
            return false;
        }
        int signature = X86Base.CpuId(1, 0).Eax;
        int family = (signature >> 8) & 0xF;
        if (family == 0xF)
        {
            family += (signature >> 20) & 0xFF;
        }
        return family >= 0x1A;
    }

    // DllImport: the signature is blittable apart from the strings, which default to UTF-8 here.
    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int setenv(string name, string value, int overwrite);
}
