using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace GppfActors.Native;

/// <summary>
/// Turns off oneDNN, libtorch's optional CPU kernel library for convolutions, on AMD processors of
/// family 1Ah and later (Zen 5), so that libtorch uses its own convolution kernels there. With
/// LibTorch 2.10 (TorchSharp-cpu 0.107) on such a processor oneDNN's kernels return NaN gradients:
/// at random with its default (AVX-512) kernels, on the same inputs that are finite the next time,
/// and on a fixed step of a run when capped at AVX2 or AVX-512 core; so replicas stop being
/// bit-identical and steps are skipped as non-finite. libtorch's own kernels give finite, repeatable
/// results there. NNPACK, libtorch's next choice for some convolutions, is turned off with it.
/// <c>GPPF_ONEDNN=on</c> keeps oneDNN anyway, <c>GPPF_ONEDNN=off</c> turns it off on
/// any processor. Linked into every assembly of the solution and run when the assembly loads (the
/// first one does it; the call is idempotent), never referenced by name.
/// </summary>
internal static class OneDnnGuard
{
    private const string Variable = "GPPF_ONEDNN";

#pragma warning disable CA2255 // Runs before any code of the assembly: the point is to precede libtorch's first kernel.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply()
    {
        string? choice = Environment.GetEnvironmentVariable(Variable);
        bool off = choice == "off" || (choice != "on" && OperatingSystem.IsLinux() && IsAmdFamily1AhOrLater());
        if (!off)
        {
            return;
        }
        try
        {
            var context = GlobalContext();
            SetUserEnabledMkldnn(context, false);
            // Without oneDNN libtorch tries NNPACK for some convolutions, which does not know these
            // processors ("Could not initialize NNPACK! Reason: Unsupported hardware", printed at
            // every such call) and falls back to its own kernels anyway.
            SetUserEnabledNnpack(context, false);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A build that loads LibTorch from elsewhere (an installed PyTorch) has no libtorch_cpu
            // beside the program; its CPU kernels are then left as they are.
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

    // at::globalContext() and at::Context::setUserEnabledMkldnn(bool), what
    // torch.backends.mkldnn.enabled = False calls in PyTorch; TorchSharp does not expose it.
    // DllImport: blittable signatures, and LibraryImport would need unsafe code in every project.
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);
}
