using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace GppfActors.Bench.Recovery;

/// <summary>
/// The nodes' logger: Akka's log lines on the console, except while a trial's nodes are being torn
/// down, when every surviving node reports the others' sockets closing (noise, not a result).
/// </summary>
internal sealed class TrialLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private static volatile bool muted;

    public TrialLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e =>
        {
            if (!muted)
            {
                Console.WriteLine(e.ToString());
            }
        });
    }

    /// <summary>The logger's entry in <c>akka.loggers</c>.</summary>
    public static string TypeName => $"{typeof(TrialLogger).FullName}, {typeof(TrialLogger).Assembly.GetName().Name}";

    /// <summary>Silences (true) or restores (false) every node's log lines.</summary>
    public static void Mute(bool value) => muted = value;
}
