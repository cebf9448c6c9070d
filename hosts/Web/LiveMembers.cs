using Akka.Actor;
using Akka.Cluster;

namespace GppfActors.Host.Web;

/// <summary>Where the live view reads the members from: this process alone, or the cluster as this node sees it.</summary>
internal static class LiveMembers
{
    /// <summary>A single-process run (<c>gppf train</c>): one member, which runs the coordinator.</summary>
    public static IReadOnlyList<LiveMember> SingleProcess() => [new LiveMember("this process", "up", Self: true, Coordinator: true, Reachable: true)];

    /// <summary>
    /// The members of this node's cluster, read at each call from Akka.Cluster's view (safe from
    /// any thread). The job leader, and so the coordinator, is a singleton on the oldest member.
    /// </summary>
    public static Func<IReadOnlyList<LiveMember>> Of(ActorSystem system)
    {
        var cluster = Cluster.Get(system);
        return () =>
        {
            var state = cluster.State;
            var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).ToList();
            Member? oldest = null;
            foreach (var m in members.Where(m => m.Status is MemberStatus.Up or MemberStatus.Leaving))
            {
                oldest = oldest is null || m.IsOlderThan(oldest) ? m : oldest;
            }
            return members.Select(m => new LiveMember($"{m.Address.Host}:{m.Address.Port}", m.Status.ToString().ToLowerInvariant(),
                m.Address == cluster.SelfAddress, m == oldest, !state.Unreachable.Contains(m))).ToList();
        };
    }
}
