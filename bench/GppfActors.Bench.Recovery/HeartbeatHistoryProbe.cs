using System.Reflection;
using Akka.Actor;
using Akka.Cluster;

namespace GppfActors.Bench.Recovery;

/// <summary>
/// What a node's failure detector has learned about another node's heartbeats: the mean and the
/// standard deviation of the intervals it has seen. The phi accrual detector marks the node
/// unreachable once the silence since its last heartbeat passes about mean + acceptable pause +
/// 5.2 standard deviations (phi = 8; the deviation is at least 100 ms), so a history with delayed
/// heartbeats detects later. Read through reflection into Akka.Remote's internals (a diagnostic
/// of this benchmark only): null when the node does not monitor the other or the internals changed.
/// </summary>
internal static class HeartbeatHistoryProbe
{
    private const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;

    public sealed record History(double MeanMs, double StdDeviationMs, int Samples);

    public static History? Read(ActorSystem observer, Address monitored)
    {
        var registry = Cluster.Get(observer).FailureDetector;
        if (!registry.IsMonitoring(monitored))
        {
            return null;
        }
        try
        {
            var detector = registry.GetType().GetMethod("GetFailureDetector", Any)?.Invoke(registry, [monitored]);
            var state = detector?.GetType().GetProperty("State", Any)?.GetValue(detector);
            var history = state?.GetType().GetProperty("History", Any)?.GetValue(state);
            if (history is null)
            {
                return null;
            }
            double Read(string name) => Convert.ToDouble(history.GetType().GetProperty(name, Any)!.GetValue(history), System.Globalization.CultureInfo.InvariantCulture);
            int samples = history.GetType().GetProperty("Intervals", Any)?.GetValue(history) is System.Collections.ICollection intervals ? intervals.Count : 0;
            return new History(Read("Mean"), Read("StdDeviation"), samples);
        }
        catch (Exception e) when (e is TargetInvocationException or NullReferenceException or InvalidCastException or AmbiguousMatchException)
        {
            return null;
        }
    }

    /// <summary>Silence after the last heartbeat at which phi reaches 8 (Akka's threshold), in seconds.</summary>
    public static double SecondsToSuspicion(History history, double acceptablePauseSeconds) =>
        (history.MeanMs + 1000 * acceptablePauseSeconds + 5.23 * Math.Max(history.StdDeviationMs, 100)) / 1000;
}
