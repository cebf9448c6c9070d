using GppfActors.Actors.Devices;
using GppfActors.ClusterConfig.Jobs;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>Builds each device's <see cref="TaskWorkload"/> (a freshly initialised replica; a resumed run's state arrives through the first alignment).</summary>
public sealed class TaskWorkloadFactory(JobConfig job, JobDatasets datasets, Action<string> log) : IDeviceWorkloadFactory
{
    public IDeviceWorkload Create(DeviceId device) => new TaskWorkload(job, datasets, device, log);

    // libtorch's intra-op pool is process-wide: the process's CPU devices share it.
    public void PrepareProcess(IReadOnlyList<DeviceId> localDevices)
    {
        int cpuDevices = localDevices.Count(d => d.Kind == "cpu");
        if (cpuDevices > 0)
        {
            TorchSharp.torch.set_num_threads(job.Train.ThreadsFor(cpuDevices));
        }
    }
}
