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
    private readonly HashSet<TDevice> stale = [];
    private List<TDevice> ranks = [];

    /// <summary>The current epoch (the last one formed; <c>startEpoch</c> before any).</summary>
    public long Epoch { get; private set; } = startEpoch;

    /// <summary>The devices of the current epoch, in rank order.</summary>
    public IReadOnlyList<TDevice> Ranks => ranks;

    /// <summary>Live devices, members of the current epoch or not.</summary>
    public int LiveCount => live.Count;

    /// <summary>True when devices joined or left since the current epoch was formed.</summary>
    public bool Changed { get; private set; }

    /// <summary>The id of a live device.</summary>
    public DeviceId IdOf(TDevice device) => live[device];

    /// <summary>Whether <paramref name="device"/> is live.</summary>
    public bool IsLive(TDevice device) => live.ContainsKey(device);

    /// <summary>The device's rank in the current epoch, or -1.</summary>
    public int RankOf(TDevice device) => ranks.IndexOf(device);

    /// <summary>A device (re)started: it is live and its replica is stale until aligned.</summary>
    public void Register(TDevice device, DeviceId id)
    {
        live[device] = id;
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
        bool wasLive = live.Remove(device);
        stale.Remove(device);
        Changed |= wasLive;
        return wasLive ? rank : -1;
    }

    /// <summary>Forms the next epoch over the live devices (ranks ordered by device id) and returns it.</summary>
    public long FormEpoch()
    {
        Epoch++;
        ranks = live.OrderBy(kv => kv.Value.Kind, StringComparer.Ordinal).ThenBy(kv => kv.Value.Ordinal).Select(kv => kv.Key).ToList();
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

    /// <summary>Every member now holds the current state.</summary>
    public void Aligned() => stale.ExceptWith(ranks);

    /// <summary>The members in rank order, for logs.</summary>
    public string Describe() => string.Join(", ", ranks.Select(r => live.TryGetValue(r, out var id) ? id.ToString() : "?"));
}
