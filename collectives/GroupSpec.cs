using System.Globalization;
using System.Text;

namespace GppfActors.Collectives;

/// <summary>One rank of a group: which process holds it and where that process's collective listener is.</summary>
/// <param name="Rank">Global rank, 0 .. WorldSize-1.</param>
/// <param name="ProcessId">The holding process's <see cref="ICollectiveGroupFactory.ProcessId"/>.</param>
/// <param name="Endpoint">That process's <see cref="ICollectiveGroupFactory.Endpoint"/>, "host:port".</param>
public sealed record GroupMember(int Rank, string ProcessId, string Endpoint);

/// <summary>
/// Everything a process needs to join one epoch's group: data only (numbers and strings), so it
/// can travel in actor messages and be stored; the local objects are made from it by an
/// <see cref="ICollectiveGroupFactory"/> in each process.
/// </summary>
/// <param name="Epoch">Membership epoch; a group never mixes two epochs.</param>
/// <param name="TimeoutSeconds">How long any member waits for its peers in one step of a collective before the group fails.</param>
/// <param name="Members">One entry per rank, in rank order.</param>
public sealed record GroupSpec(long Epoch, double TimeoutSeconds, IReadOnlyList<GroupMember> Members)
{
    /// <summary>Number of ranks.</summary>
    public int WorldSize => Members.Count;

    /// <summary>
    /// For an NCCL group: the communicator's unique id (128 bytes, base64) that rank 0's device made;
    /// every rank joins with it. Null for the in-process and TCP groups.
    /// </summary>
    public string? NcclUniqueId { get; init; }

    /// <summary><see cref="TimeoutSeconds"/> as a span.</summary>
    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first problem: ranks must be 0..n-1 in order, every member needs a process id, and one process has one endpoint.</summary>
    public GroupSpec Validate()
    {
        if (Members is null || Members.Count == 0)
        {
            throw new ArgumentException($"group spec of epoch {Epoch} has no members");
        }
        if (!(TimeoutSeconds > 0) || double.IsInfinity(TimeoutSeconds))
        {
            throw new ArgumentException($"group spec of epoch {Epoch}: TimeoutSeconds must be positive and finite (got {TimeoutSeconds})");
        }
        var endpoints = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < Members.Count; i++)
        {
            var m = Members[i] ?? throw new ArgumentException($"group spec of epoch {Epoch}: member {i} is null");
            if (m.Rank != i)
            {
                throw new ArgumentException($"group spec of epoch {Epoch}: member {i} has rank {m.Rank}; members must be listed in rank order 0..{Members.Count - 1}");
            }
            if (string.IsNullOrWhiteSpace(m.ProcessId))
            {
                throw new ArgumentException($"group spec of epoch {Epoch}: rank {i} has no process id");
            }
            if (endpoints.TryGetValue(m.ProcessId, out var endpoint))
            {
                if (endpoint != m.Endpoint)
                {
                    throw new ArgumentException($"group spec of epoch {Epoch}: process '{m.ProcessId}' is listed with two endpoints ('{endpoint}' and '{m.Endpoint}')");
                }
            }
            else
            {
                endpoints[m.ProcessId] = m.Endpoint;
            }
        }
        return this;
    }

    /// <summary>Global ranks held by <paramref name="processId"/>, ascending.</summary>
    public IReadOnlyList<int> RanksOf(string processId) =>
        Members.Where(m => m.ProcessId == processId).Select(m => m.Rank).ToList();

    /// <summary>The processes of the group, ordered by their lowest rank: the order of the ring between processes.</summary>
    public IReadOnlyList<string> ProcessOrder() =>
        Members.Select(m => m.ProcessId).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// A hash of the whole spec that is the same in every process (string.GetHashCode is
    /// randomised per process, so it cannot serve): two processes whose specs of one epoch differ
    /// refuse each other's connections instead of forming a group with different views.
    /// </summary>
    public ulong Fingerprint()
    {
        var text = new StringBuilder();
        text.Append(Epoch.ToString(CultureInfo.InvariantCulture)).Append('|')
            .Append(TimeoutSeconds.ToString("R", CultureInfo.InvariantCulture));
        foreach (var m in Members)
        {
            text.Append('|').Append(m.Rank.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(m.ProcessId).Append(',').Append(m.Endpoint);
        }
        if (NcclUniqueId is not null)
        {
            text.Append("|nccl,").Append(NcclUniqueId);
        }
        return Fnv1a.Hash(text.ToString());
    }

    /// <summary>Equal when epoch, time-out, every member and the NCCL id are equal (a record would compare the member lists by reference).</summary>
    public bool Equals(GroupSpec? other) =>
        other is not null && Epoch == other.Epoch && TimeoutSeconds.Equals(other.TimeoutSeconds) &&
        Members.SequenceEqual(other.Members) && NcclUniqueId == other.NcclUniqueId;

    public override int GetHashCode() => HashCode.Combine(Epoch, TimeoutSeconds, Members.Count);
}
