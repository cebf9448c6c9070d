using GppfActors.Actors.Devices;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.Model.Training;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>
/// Builds each device's <see cref="TaskWorkload"/> (a replica initialised from the job's seed, or
/// from <paramref name="start"/>'s pre-trained weights; a resumed run's state arrives through the
/// first alignment). With <c>train.share_weights</c> the CPU devices of
/// the process alias one <see cref="SharedModel"/>, made with the first of them and disposed with
/// the last (a device rebuilt after a fault attaches to it again).
/// </summary>
public sealed class TaskWorkloadFactory(JobConfig job, JobDatasets datasets, Action<string> log, PretrainedStart? start = null) : IDeviceWorkloadFactory
{
    private readonly object gate = new();
    private SharedModel? shared;

    public IDeviceWorkload Create(DeviceId device) =>
        new TaskWorkload(job, datasets, device, log, job.Train.ShareWeights && device.Kind == "cpu" ? Shared : null, start);

    // The process's shared model, made again when every device that used it is gone.
    private SharedModel Shared
    {
        get
        {
            lock (gate)
            {
                if (shared is null || shared.IsDisposed)
                {
                    shared = new SharedModel(TaskWorkload.BuildNetwork(job, start), job.Optimizer.ToOptimizerConfig());
                }
                return shared;
            }
        }
    }

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
