using GppfActors.Actors.Devices;
using GppfActors.ClusterConfig.Jobs;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>Builds each device's <see cref="TaskWorkload"/> (a freshly initialised replica; a resumed run's state arrives through the first alignment).</summary>
public sealed class TaskWorkloadFactory(JobConfig job, JobDatasets datasets, Action<string> log) : IDeviceWorkloadFactory
{
    public IDeviceWorkload Create(DeviceId device) => new TaskWorkload(job, datasets, device, log);
}
