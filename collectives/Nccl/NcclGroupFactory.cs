using GppfActors.Collectives.Native;
using TorchSharp;

namespace GppfActors.Collectives.Nccl;

/// <summary>
/// Makes this process's NCCL groups from data-only <see cref="GroupSpec"/>s: a new communicator per
/// membership epoch. Rank 0's device calls <see cref="NewUniqueId"/>; the id travels to every rank
/// inside the spec (<see cref="GroupSpec.NcclUniqueId"/>), and each rank's device thread calls
/// <see cref="Join"/> with it. Joining a newer epoch aborts what is left of older ones here;
/// joining an older epoch, or one aborted already, throws <see cref="CollectiveAbortedException"/>.
/// </summary>
public sealed class NcclGroupFactory : IDisposable
{
    private readonly INcclApi _api;
    private readonly TimeProvider _time;
    private readonly bool _requireCudaTensors;
    private readonly object _gate = new();
    private readonly Dictionary<long, List<NcclGroup>> _groups = [];
    private readonly HashSet<long> _aborted = [];
    private long _newestEpoch = long.MinValue;

    internal NcclGroupFactory(INcclApi api, TimeProvider time, bool requireCudaTensors)
    {
        _api = api;
        _time = time;
        _requireCudaTensors = requireCudaTensors;
    }

    /// <summary>NCCL and the CUDA runtime of <paramref name="installation"/>; throws <see cref="NcclUnavailableException"/> naming what is missing.</summary>
    public static NcclGroupFactory Open(PyTorchInstallation installation) =>
        new(NcclLibrary.Open(installation), TimeProvider.System, requireCudaTensors: true);

    /// <summary><c>ncclGetVersion</c>, e.g. 22903 for 2.29.3.</summary>
    public int NcclVersion => _api.GetVersion();

    /// <summary>The newest epoch joined or aborted (<see cref="long.MinValue"/> before any).</summary>
    public long NewestEpoch
    {
        get
        {
            lock (_gate)
            {
                return _newestEpoch;
            }
        }
    }

    /// <summary>A fresh communicator id (<c>ncclGetUniqueId</c>) as the text a spec carries.</summary>
    public string NewUniqueId() => _api.GetUniqueId().ToBase64();

    /// <summary>
    /// Rank <paramref name="rank"/>'s handle on <paramref name="spec"/>'s communicator, on CUDA device
    /// <paramref name="cudaDevice"/> (the calling thread's device from now on). Blocks until every rank
    /// has joined or the spec's time-out passed (then <see cref="CollectiveTimeoutException"/>).
    /// </summary>
    public ICollectiveGroup Join(GroupSpec spec, int rank, int cudaDevice) =>
        JoinOn(spec, rank, cudaDevice, new torch.Device(DeviceType.CUDA, cudaDevice));

    internal ICollectiveGroup JoinOn(GroupSpec spec, int rank, int cudaDevice, torch.Device tensorDevice)
    {
        spec.Validate();
        if (rank < 0 || rank >= spec.WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), $"group spec of epoch {spec.Epoch}: rank {rank} is not in 0..{spec.WorldSize - 1}");
        }
        if (spec.NcclUniqueId is null)
        {
            throw new ArgumentException($"group spec of epoch {spec.Epoch} carries no NCCL unique id: rank 0's device makes one (NewUniqueId) and every rank joins with it");
        }
        var id = NcclUniqueId.FromBase64(spec.NcclUniqueId);
        List<NcclGroup> older = [];
        lock (_gate)
        {
            if (spec.Epoch < _newestEpoch || _aborted.Contains(spec.Epoch))
            {
                throw new CollectiveAbortedException(spec.Epoch, "join",
                    _aborted.Contains(spec.Epoch) ? "the epoch was aborted before this rank joined" : $"epoch {_newestEpoch} is newer");
            }
            _newestEpoch = spec.Epoch;
            foreach (var epoch in _groups.Keys.Where(e => e < spec.Epoch).ToList())
            {
                older.AddRange(_groups[epoch]);
                _groups.Remove(epoch);
            }
        }
        foreach (var group in older)
        {
            group.Abort($"epoch {spec.Epoch} replaces epoch {group.Epoch}");
            group.Dispose();
        }
        var joined = NcclGroup.Join(_api, spec.Epoch, rank, spec.WorldSize, id, spec.Timeout, cudaDevice, tensorDevice, _requireCudaTensors, _time);
        lock (_gate)
        {
            if (_aborted.Contains(spec.Epoch) || spec.Epoch < _newestEpoch)
            {
                joined.Abort(_aborted.Contains(spec.Epoch) ? "the epoch was aborted while this rank joined" : $"epoch {_newestEpoch} replaced it while this rank joined");
            }
            else
            {
                (_groups.TryGetValue(spec.Epoch, out var list) ? list : _groups[spec.Epoch] = []).Add(joined);
            }
        }
        return joined;
    }

    /// <summary>Aborts every local rank of <paramref name="epoch"/> (from any thread); an epoch not joined yet is born aborted.</summary>
    public void Abort(long epoch, string reason)
    {
        List<NcclGroup> groups;
        lock (_gate)
        {
            _aborted.Add(epoch);
            _newestEpoch = Math.Max(_newestEpoch, epoch);
            groups = _groups.Remove(epoch, out var list) ? list : [];
        }
        foreach (var group in groups)
        {
            group.Abort(reason);
        }
    }

    public void Dispose()
    {
        List<NcclGroup> groups;
        lock (_gate)
        {
            groups = [.. _groups.Values.SelectMany(g => g)];
            _groups.Clear();
        }
        foreach (var group in groups)
        {
            group.Dispose();
        }
    }
}
