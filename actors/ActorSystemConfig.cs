using Akka.Configuration;

namespace GppfActors.Actors;

/// <summary>HOCON shared by every node: serializer binding and the device dispatcher.</summary>
public static class ActorSystemConfig
{
    /// <summary>Binds Hyperion to <see cref="Messages.IGppfMessage"/> and defines the pinned device dispatcher.</summary>
    public static Config Base { get; } = ConfigurationFactory.ParseString("""
        akka {
          actor {
            serializers {
              hyperion = "Akka.Serialization.HyperionSerializer, Akka.Serialization.Hyperion"
            }
            serialization-bindings {
              "GppfActors.Actors.Messages.IGppfMessage, GppfActors.Actors" = hyperion
            }
          }
        }
        gppf {
          # Each device actor owns an OS thread: its step runs synchronously, and libtorch's
          # thread-static dispose scopes and the device context stay on that thread.
          device-dispatcher {
            type = PinnedDispatcher
            executor = thread-pool-executor
          }
        }
        """);
}
