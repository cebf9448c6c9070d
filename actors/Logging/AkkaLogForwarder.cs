using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GppfActors.Actors.Logging;

/// <summary>
/// An Akka logger (named in <c>akka.loggers</c> by <see cref="RunLogSetup.Config"/>) that hands
/// each of Akka's log events to the host's <see cref="ILoggerFactory"/> from the actor system's
/// <see cref="RunLogSetup"/>, with the event's source (actor path or class) as a property.
/// </summary>
public sealed class AkkaLogForwarder : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly ILoggerFactory loggers;
    private readonly Dictionary<Type, ILogger> byClass = [];

    public AkkaLogForwarder()
    {
        var setup = Context.System.Settings.Setup.Get<RunLogSetup>();
        loggers = setup.HasValue ? setup.Value.Loggers : NullLoggerFactory.Instance;
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(Forward);
    }

    private void Forward(LogEvent e)
    {
        if (!byClass.TryGetValue(e.LogClass, out var logger))
        {
            logger = loggers.CreateLogger($"Akka.{e.LogClass.Name}");
            byClass[e.LogClass] = logger;
        }
        var level = e.LogLevel() switch
        {
            Akka.Event.LogLevel.DebugLevel => Microsoft.Extensions.Logging.LogLevel.Debug,
            Akka.Event.LogLevel.InfoLevel => Microsoft.Extensions.Logging.LogLevel.Information,
            Akka.Event.LogLevel.WarningLevel => Microsoft.Extensions.Logging.LogLevel.Warning,
            _ => Microsoft.Extensions.Logging.LogLevel.Error,
        };
        logger.Log(level, e.Cause, "{source:l}: {message:l}", e.LogSource, e.Message?.ToString());
    }
}
