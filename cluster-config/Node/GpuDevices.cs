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
    /// <summary>
    /// The devices <c>train.devices</c> names (<c>cuda</c>: every visible GPU), and whether they are
    /// GPUs. Throws <see cref="NotSupportedException"/> naming <c>train.devices</c> when this process
    /// cannot train on them: the CPU build names the build switches that make a GPU build; a GPU build
    /// refuses GPUs without CUDA, an ordinal it cannot see, or one listed twice.
    /// </summary>
    public static (IReadOnlyList<DeviceId> Devices, bool Gpus) Resolve(string spec)
    {
#if GPPF_CUDA
        int visible = TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0;
        var devices = DeviceId.ParseList(spec, visible);
        if (devices.All(d => d.Kind == "cpu"))
        {
            return (devices, false);
        }
        if (visible == 0)
        {
            throw new NotSupportedException($"train.devices: '{spec}': CUDA is not available to this process (LibTorch found no GPU or no CUDA libraries; gppf gpu-selftest says which)");
        }
        if (devices.FirstOrDefault(d => d.Ordinal >= visible) is { } missing)
        {
            throw new NotSupportedException($"train.devices: '{spec}': {missing.Local} is not visible ({visible} GPU(s): cuda:0..cuda:{visible - 1})");
        }
        if (devices.GroupBy(d => d.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new NotSupportedException($"train.devices: '{spec}': cuda:{twice.Key} is listed twice (NCCL has one rank per GPU)");
        }
        return (devices, true);
#else
        if (spec.TrimStart().StartsWith("cuda", StringComparison.OrdinalIgnoreCase))
        {
            throw new NotSupportedException(
                $"train.devices: '{spec}': this build has no CUDA path (it references TorchSharp-cpu); GPU builds are made with -p:GppfTorch=system (LibTorch from an installed PyTorch) or -p:GppfCuda=true");
        }
        return (DeviceId.ParseList(spec), false);
#endif
    }

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
