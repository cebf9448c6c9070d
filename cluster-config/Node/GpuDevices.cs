using GppfActors.Actors.Devices;
using GppfActors.Collectives;
#if GPPF_CUDA
using GppfActors.Collectives.Native;
using GppfActors.Collectives.Nccl;
#endif

namespace GppfActors.ClusterConfig.Node;

/// <summary>
/// Which collective groups a process's devices use. Virtual CPU devices meet in host memory (the
/// in-process hub, TCP between processes); GPUs meet through NCCL, one communicator per epoch over
/// every rank of the job, with the coordinator handing out the id rank 0's process made. The CPU
/// build has no CUDA path and refuses GPUs naming the build switches that make one.
/// </summary>
internal static class GpuDevices
{
    /// <summary>How many GPUs this process sees (what <c>train.devices: cuda</c> means).</summary>
    public static int Visible() => TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0;

    /// <summary>The devices <c>train.devices</c> names; in the CPU build a GPU list is refused with the build switches that make a GPU build.</summary>
    public static IReadOnlyList<DeviceId> Parse(string spec)
    {
#if !GPPF_CUDA
        if (spec.TrimStart().StartsWith("cuda", StringComparison.OrdinalIgnoreCase))
        {
            throw NoCudaPath(spec);
        }
#endif
        return DeviceId.ParseList(spec, Visible());
    }

    /// <summary>True when <paramref name="devices"/> are GPUs; throws <see cref="NotSupportedException"/> naming <c>train.devices</c> when this build cannot train on them.</summary>
    public static bool AreGpus(string spec, IReadOnlyList<DeviceId> devices)
    {
        if (devices.All(d => d.Kind == "cpu"))
        {
            return false;
        }
#if GPPF_CUDA
        if (!TorchSharp.torch.cuda.is_available())
        {
            throw new NotSupportedException($"train.devices: '{spec}': CUDA is not available to this process (LibTorch found no GPU or no CUDA libraries; gppf gpu-selftest says which)");
        }
        int visible = TorchSharp.torch.cuda.device_count();
        if (devices.FirstOrDefault(d => d.Ordinal >= visible) is { } missing)
        {
            throw new NotSupportedException($"train.devices: '{spec}': {missing.Local} is not visible ({visible} GPU(s): cuda:0..cuda:{visible - 1})");
        }
        if (devices.GroupBy(d => d.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new NotSupportedException($"train.devices: '{spec}': cuda:{twice.Key} is listed twice (NCCL has one rank per GPU)");
        }
        return true;
#else
        throw NoCudaPath(spec);
#endif
    }

#if !GPPF_CUDA
    private static NotSupportedException NoCudaPath(string spec) => new(
        $"train.devices: '{spec}': this build has no CUDA path (it references TorchSharp-cpu); GPU builds are made with -p:GppfTorch=system (LibTorch from an installed PyTorch) or -p:GppfCuda=true");
#endif

    /// <summary>The collective groups of a process whose devices are GPUs: NCCL from the LibTorch's PyTorch installation.</summary>
    public static ICollectiveGroupFactory Nccl(string processId)
    {
#if GPPF_CUDA
        var installation = LibTorchLoader.Current?.Installation
            ?? PyTorchInstallation.Locate(null, Environment.GetEnvironmentVariable, () => PyTorchInstallation.AskPython());
        try
        {
            return NcclCollectiveGroupFactory.Open(installation, processId);
        }
        catch (NcclUnavailableException e)
        {
            throw new NotSupportedException($"train.devices: GPUs train through NCCL, which is not usable: {e.Message}", e);
        }
#else
        throw new NotSupportedException($"process {processId}: this build has no NCCL path");
#endif
    }
}
