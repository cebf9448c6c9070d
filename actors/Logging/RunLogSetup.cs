using Akka.Actor.Setup;
using Akka.Configuration;
using Microsoft.Extensions.Logging;

namespace GppfActors.Actors.Logging;

/// <summary>
/// Routes Akka's own log (cluster membership, remoting, supervision, the actors' warnings) into
/// the host's <see cref="ILoggerFactory"/>, so that one sink receives every line of the process:
/// add this setup to the actor system and lay <see cref="Config"/> over its HOCON.
/// </summary>
public sealed class RunLogSetup(ILoggerFactory loggers) : Setup
{
    /// <summary>The host's loggers; Akka's events arrive under categories <c>Akka.&lt;source class&gt;</c>.</summary>
    public ILoggerFactory Loggers { get; } = loggers;

    /// <summary>
    /// Akka's loggers replaced by <see cref="AkkaLogForwarder"/>, and nothing written to standard
    /// output by Akka itself (its start-up logger included), so the sink's lines are the only ones.
    /// </summary>
    public static Config Config { get; } = ConfigurationFactory.ParseString($"""
        akka.loggers = ["{typeof(AkkaLogForwarder).FullName}, {typeof(AkkaLogForwarder).Assembly.GetName().Name}"]
        akka.stdout-loglevel = OFF
        """);
}
