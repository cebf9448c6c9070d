using System.Collections.Immutable;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Serialization;
using GppfActors.Actors.Messages;

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

    /// <summary>
    /// The setup of a node's actor system: <paramref name="config"/>, and the Hyperion serializer for
    /// the project's messages built here with <see cref="ProjectTypeFilter"/>, so it refuses to
    /// create any type outside the project's message set. (Akka.Serialization.Hyperion 1.5.73 does
    /// not apply a type filter given through its own setup to the serializer it builds from HOCON;
    /// registering the serializer programmatically does, and overrides the HOCON binding.)
    /// </summary>
    public static ActorSystemSetup Setup(Config config)
    {
        var settings = new HyperionSerializerSettings(
            preserveObjectReferences: true,
            versionTolerance: true,
            knownTypesProvider: HyperionSerializerSettings.Default.KnownTypesProvider,
            packageNameOverrides: [],
            surrogates: [],
            disallowUnsafeType: true,
            typeFilter: ProjectTypeFilter.Instance);
        var serialization = SerializationSetup.Create(system => ImmutableHashSet.Create(
            SerializerDetails.Create("hyperion", new HyperionSerializer(system, settings), ImmutableHashSet.Create(typeof(IGppfMessage)))));
        return BootstrapSetup.Create().WithConfig(config).And(serialization);
    }
}
