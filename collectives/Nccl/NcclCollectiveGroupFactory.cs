using GppfActors.Collectives.Native;
using TorchSharp;

namespace GppfActors.Collectives.Nccl;

/// <summary>
/// The collective groups of a process whose devices are GPUs: one NCCL communicator per membership
/// epoch over every rank of the job, whichever node holds it (NCCL carries the traffic inside a node
/// and across nodes itself). The device actors use it as they use the host-memory groups, with two
/// differences the actor protocol covers: each epoch needs a unique id that rank 0's process makes
/// (<see cref="NewGroupId"/>, handed to every rank in the spec by the coordinator), and each rank
/// joins on its own GPU (<see cref="Join(GroupSpec, int, string)"/> with <c>cuda:K</c>).
/// </summary>
public sealed class NcclCollectiveGroupFactory : ICollectiveGroupFactory
{
    private readonly NcclGroupFactory _nccl;
    private readonly bool _hostTensors;

    private NcclCollectiveGroupFactory(NcclGroupFactory nccl, string processId, bool hostTensors)
    {
        if (string.IsNullOrWhiteSpace(processId))
        {
            throw new ArgumentException("an NCCL group factory needs a process id", nameof(processId));
        }
        _nccl = nccl;
        _hostTensors = hostTensors;
        ProcessId = processId;
    }

    /// <summary>NCCL and the CUDA runtime of <paramref name="installation"/>; throws <see cref="NcclUnavailableException"/> naming what is missing.</summary>
    public static NcclCollectiveGroupFactory Open(PyTorchInstallation installation, string processId) =>
        new(NcclGroupFactory.Open(installation), processId, hostTensors: false);

    /// <summary>
    /// Over <paramref name="api"/> (a simulated NCCL in the specs), with the ranks' tensors in host
    /// memory and <c>cpu:K</c> devices standing for GPU K: the actor protocol around NCCL runs on CPUs.
    /// </summary>
    internal static NcclCollectiveGroupFactory OverHostMemory(INcclApi api, string processId) =>
        new(new NcclGroupFactory(api, TimeProvider.System, requireCudaTensors: false), processId, hostTensors: true);

    public string ProcessId { get; }

    /// <summary>NCCL needs no listener of the process's own (its bootstrap makes its connections).</summary>
    public string Endpoint => "nccl";

    /// <summary><c>ncclGetVersion</c>, e.g. 22903 for 2.29.3.</summary>
    public int NcclVersion => _nccl.NcclVersion;

    public long NewestEpoch => _nccl.NewestEpoch;

    public string NewGroupId() => _nccl.NewUniqueId();

    public ICollectiveGroup Join(GroupSpec spec, int rank) =>
        throw new InvalidOperationException($"epoch {spec.Epoch}, rank {rank}: an NCCL rank joins on its GPU; call Join(spec, rank, \"cuda:K\")");

    public ICollectiveGroup Join(GroupSpec spec, int rank, string device)
    {
        spec.Validate();
        if (rank < 0 || rank >= spec.WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), $"group spec of epoch {spec.Epoch}: rank {rank} is not in 0..{spec.WorldSize - 1}");
        }
        if (spec.Members[rank].ProcessId != ProcessId)
        {
            throw new ArgumentException($"rank {rank} of epoch {spec.Epoch} belongs to process '{spec.Members[rank].ProcessId}', not to this one ('{ProcessId}')");
        }
        var (kind, ordinal) = ParseDevice(device);
        if (kind == "cuda" && !_hostTensors)
        {
            return _nccl.Join(spec, rank, ordinal);
        }
        if (kind == "cpu" && _hostTensors)
        {
            return _nccl.JoinOn(spec, rank, ordinal, new torch.Device(DeviceType.CPU));
        }
        throw new ArgumentException(_hostTensors
            ? $"rank {rank} of epoch {spec.Epoch}: device '{device}': this factory stands for GPUs with cpu:K devices"
            : $"rank {rank} of epoch {spec.Epoch}: device '{device}' is not a GPU; NCCL groups are for cuda:K devices (CPU devices use the in-process and TCP groups)");
    }

    public void Abort(long epoch, string reason) => _nccl.Abort(epoch, reason);

    public void Dispose() => _nccl.Dispose();

    private static (string Kind, int Ordinal) ParseDevice(string device)
    {
        var parts = device.Split(':');
        return parts.Length == 2 && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int ordinal)
            ? (parts[0], ordinal)
            : throw new ArgumentException($"device '{device}' is not kind:ordinal (cuda:0)");
    }
}
