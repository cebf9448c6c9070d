namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// Why a job asking for CUDA devices cannot train in this build: the CPU build names the switches
/// that make a GPU build; the GPU builds have the LibTorch, NCCL and self-test parts but no device
/// actors on CUDA yet, and say so rather than start a run that would fail later.
/// </summary>
internal static class GpuDevices
{
    public static string Refusal(string devices) =>
#if GPPF_CUDA
        $"train.devices: '{devices}': training on CUDA devices is not implemented in this version (gppf gpu-selftest checks LibTorch, NCCL and a CUDA step); use cpu:K";
#else
        $"train.devices: '{devices}': this build has no CUDA path (it references TorchSharp-cpu); GPU builds are made with -p:GppfTorch=system (LibTorch from an installed PyTorch) or -p:GppfCuda=true";
#endif
}
