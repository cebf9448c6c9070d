using Akka.Configuration;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;

namespace GppfActors.ClusterConfig.Node;

/// <summary>The HOCON of a node's actor system, in one place.</summary>
public static class NodeConfig
{
    /// <summary>
    /// Logging kept to warnings (progress is shown by the host, not the log), and top-level actors
    /// stopped rather than restarted on failure: a restarted coordinator would start over at its
    /// first epoch waiting for devices that never announce themselves again. The coordinator
    /// reports its failure before it stops.
    /// </summary>
    public static Config Common { get; } = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.actor.guardian-supervisor-strategy = "Akka.Actor.StoppingSupervisorStrategy"
        """).WithFallback(ActorSystemConfig.Base);

    /// <summary>One process, no remoting, the SQLite journal at <paramref name="journalPath"/>.</summary>
    public static Config SingleProcess(string journalPath) =>
        Common.WithFallback(CheckpointJournalConfig.Sqlite(journalPath));
}
