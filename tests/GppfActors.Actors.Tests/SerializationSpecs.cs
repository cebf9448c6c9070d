using Akka.Actor;
using GppfActors.Actors.Messages;
using Xunit;

namespace GppfActors.Actors.Tests;

public class SerializationSpecs
{
    private sealed record Probe(long Epoch, string Note) : IGppfMessage;

    [Fact]
    public void Should_bind_project_messages_to_hyperion_and_round_trip_them()
    {
        using var system = ActorSystem.Create("serialization", ActorSystemConfig.Base);
        var serialization = system.Serialization;
        var message = new Probe(3, "step 7");
        var serializer = serialization.FindSerializerFor(message);
        Assert.Equal("HyperionSerializer", serializer.GetType().Name);
        var bytes = serializer.ToBinary(message);
        Assert.Equal(message, serializer.FromBinary(bytes, typeof(Probe)));
        // Anything else keeps Akka's default serializer.
        Assert.NotEqual("HyperionSerializer", serialization.FindSerializerFor("plain string").GetType().Name);
    }
}
