using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Devices;
using GppfActors.ClusterConfig.Jobs;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>Builds each device's <see cref="TaskWorkload"/>, restoring the resume checkpoint's state when there is one.</summary>
public sealed class TaskWorkloadFactory(JobConfig job, JobDatasets datasets, CheckpointPayload? resumeFrom, Action<string> log) : IDeviceWorkloadFactory
{
    public IDeviceWorkload Create(DeviceId device) => new TaskWorkload(job, datasets, device, resumeFrom, log);
}
