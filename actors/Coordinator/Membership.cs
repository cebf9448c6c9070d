using GppfActors.Actors.Devices;

namespace GppfActors.Actors.Coordinator;

/// <summary>
/// Who trains: every live device, the rank order of the current membership epoch, and the devices
/// whose replica is not current (fresh or restarted) and must take a healthy replica's state before
/// stepping. Pure (devices are opaque keys), so its rules are tested without an ActorSystem; the
/// coordinator owns one.
/// </summary>
/// <remarks>
/// Epochs only grow. A run that resumes starts above every epoch its journal and checkpoint have
/// seen, so the journal's "an older epoch cannot commit" rule never refuses a resumed run.
/// </remarks>
public sealed class Membership<TDevice>(long startEpoch = 0)
    where TDevice : notnull
{
    private readonly Dictionary<TDevice, DeviceId> live = [];
    private readonly Dictionary<TDevice, (string ProcessId, string Endpoint)> collectives = [];
    private readonly HashSet<TDevice> stale = [];
    private readonly HashSet<TDevice> suspended = [];
    private readonly List<string> changes = [];
    private List<TDevice> ranks = [];

    /// <summary>The current epoch (the last one formed; <c>startEpoch</c> before any).</summary>
    public long Epoch { get; private set; } = startEpoch;

    /// <summary>The devices of the current epoch, in rank order.</summary>
    public IReadOnlyList<TDevice> Ranks => ranks;

    /// <summary>Live devices, members of the current epoch or not.</summary>
    public int LiveCount => live.Count;

    /// <summary>True when devices joined or left since the current epoch was formed.</summary>
    public bool Changed { get; private set; }

    /// <summary>
    /// True while some device is suspended: its node is unreachable, and whether it comes back or is
    /// removed from the cluster is not yet known. No new epoch is formed meanwhile, so a side of a
    /// partition that is about to be downed does not train on alone.
    /// </summary>
    public bool HasSuspended => suspended.Count > 0;

    /// <summary>The id of a live device.</summary>
    public DeviceId IdOf(TDevice device) => live[device];

    /// <summary>Whether <paramref name="device"/> is live.</summary>
    public bool IsLive(TDevice device) => live.ContainsKey(device);

    /// <summary>The device's rank in the current epoch, or -1.</summary>
    public int RankOf(TDevice device) => ranks.IndexOf(device);

    /// <summary>
    /// A device (re)started: it is live and its replica is stale until aligned. <paramref name="processId"/>
    /// and <paramref name="endpoint"/> say where its collectives meet.
    /// </summary>
    public void Register(TDevice device, DeviceId id, string processId = "", string endpoint = "")
    {
        changes.Add(live.ContainsKey(device) ? $"{id} restarted" : $"{id} joined");
        live[device] = id;
        collectives[device] = (processId, endpoint);
        stale.Add(device);
        Changed = true;
    }

    /// <summary>
    /// The one routine for losing a device, whatever the cause (it stopped, restarted, stopped
    /// answering). A device that will come back announces itself again through <see cref="Register"/>.
    /// Returns its rank in the current epoch, or -1 when it was not a member or was already lost
    /// (a loss reported twice, e.g. a silent device that then stops, is one loss).
    /// </summary>
    public int Lose(TDevice device)
    {
        int rank = RankOf(device);
        if (live.TryGetValue(device, out var id))
        {
            changes.Add($"{id} left");
        }
        bool wasLive = live.Remove(device);
        collectives.Remove(device);
        stale.Remove(device);
        suspended.Remove(device);
        Changed |= wasLive;
        return wasLive ? rank : -1;
    }

    /// <summary>
    /// The device's node became unreachable: it keeps its place among the live devices but is left
    /// out of new epochs until it is lost (<see cref="Lose"/>) or comes back (<see cref="Resume"/>).
    /// Returns its rank in the current epoch, or -1.
    /// </summary>
    public int Suspend(TDevice device)
    {
        if (!live.ContainsKey(device) || !suspended.Add(device))
        {
            return -1;
        }
        Changed = true;
        return RankOf(device);
    }

    /// <summary>The device's node is reachable again: it rejoins at the next boundary and takes a healthy replica's state first.</summary>
    public void Resume(TDevice device)
    {
        if (suspended.Remove(device))
        {
            stale.Add(device);
            Changed = true;
        }
    }

    /// <summary>Whether <paramref name="device"/> is suspended.</summary>
    public bool IsSuspended(TDevice device) => suspended.Contains(device);

    /// <summary>Live devices, suspended or not (for looking them up by node).</summary>
    public IEnumerable<TDevice> Live => live.Keys;

    /// <summary>Forms the next epoch over the live devices that are not suspended (ranks in <see cref="DeviceId.RankOrder"/>) and returns it.</summary>
    public long FormEpoch()
    {
        Epoch++;
        changes.Clear();
        ranks = live.Where(kv => !suspended.Contains(kv.Key)).OrderBy(kv => kv.Value, DeviceId.RankOrder).Select(kv => kv.Key).ToList();
        Changed = false;
        return Epoch;
    }

    /// <summary>
    /// The rank whose state every replica takes: the first member that is not stale. When every
    /// member is stale, rank 0 if nothing has been trained in this process yet (its initial or
    /// resumed state is everyone's), else null: the run's state is lost with the devices.
    /// </summary>
    public int? AlignmentRoot(bool anyStepRan)
    {
        int root = ranks.FindIndex(r => !stale.Contains(r));
        if (root >= 0)
        {
            return root;
        }
        return anyStepRan || ranks.Count == 0 ? null : 0;
    }

    /// <summary>The live device's replica holds the current state (a survivor of a coordinator takeover): it can be an alignment root.</summary>
    public void MarkCurrent(TDevice device)
    {
        if (live.ContainsKey(device))
        {
            stale.Remove(device);
        }
    }

    /// <summary>Every member now holds the current state.</summary>
    public void Aligned() => stale.ExceptWith(ranks);

    /// <summary>The collective group of the current epoch, as data: each rank's process and that process's endpoint.</summary>
    public GppfActors.Collectives.GroupSpec GroupSpec(double timeoutSeconds) => new(Epoch, timeoutSeconds,
        ranks.Select((device, rank) => new GppfActors.Collectives.GroupMember(rank, collectives[device].ProcessId, collectives[device].Endpoint)).ToList());

    /// <summary>The joins, restarts and departures since the current epoch was formed, for logs ("cpu:1 joined, cpu:0@10.0.0.2:4053 left").</summary>
    public string ChangesSinceEpoch => changes.Count == 0 ? "no change" : string.Join(", ", changes.Distinct());

    /// <summary>Whether the device's replica is not current.</summary>
    public bool IsStale(TDevice device) => stale.Contains(device);

    /// <summary>The members in rank order, for logs.</summary>
    public string Describe() => string.Join(", ", ranks.Select(r => live.TryGetValue(r, out var id) ? id.ToString() : "?"));
}
