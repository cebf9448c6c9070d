using Akka.Actor;

namespace GppfActors.Actors.Logging;

/// <summary>
/// The membership epoch and step this node is working on, for its log lines: set by the
/// coordinator when it starts a step and by each device actor when it runs one. Read from any
/// thread; <see cref="Current"/> is null until the node's first step.
/// </summary>
public sealed class NodeRunContext : IExtension
{
    private Position? current;

    /// <summary>The epoch and step of the newest step started or run on this node.</summary>
    public Position? Current => Volatile.Read(ref current);

    /// <summary>Records that step <paramref name="step"/> of epoch <paramref name="epoch"/> runs here now.</summary>
    public void At(long epoch, long step) => Volatile.Write(ref current, new Position(epoch, step));

    /// <summary>The context of <paramref name="system"/> (one per actor system, so per node).</summary>
    public static NodeRunContext For(ActorSystem system) => system.WithExtension<NodeRunContext, NodeRunContextId>();

    /// <summary>An epoch and a step.</summary>
    public sealed record Position(long Epoch, long Step);
}

/// <summary>Creates the <see cref="NodeRunContext"/> of an actor system.</summary>
public sealed class NodeRunContextId : ExtensionIdProvider<NodeRunContext>
{
    public override NodeRunContext CreateExtension(ExtendedActorSystem system) => new();
}
