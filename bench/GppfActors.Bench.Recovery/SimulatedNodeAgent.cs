using Akka.Actor;
using GppfActors.Actors;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Node;

namespace GppfActors.Bench.Recovery;

/// <summary>How long a simulated device takes for its part of a step and of an alignment, and how long its collectives wait.</summary>
internal sealed record DeviceTiming(TimeSpan Step, TimeSpan Align, TimeSpan CollectiveTimeout);

/// <summary>
/// A node agent with simulated devices: the same name and role as <see cref="NodeAgent"/> (the
/// coordinator finds it as its devices' parent and sends it <see cref="AbortGroup"/>), one
/// <see cref="SimulatedDevice"/> per device, and the abort passed to the node's collectives. One per
/// node, child of the node's root.
/// </summary>
internal sealed class SimulatedNodeAgent : ReceiveActor
{
    private readonly IReadOnlyList<DeviceId> devices;
    private readonly IActorRef coordinator;
    private readonly SimulatedCollectives collectives;
    private readonly DeviceTiming timing;
    private readonly Timeline timeline;
    private readonly int node;

    public SimulatedNodeAgent(IReadOnlyList<DeviceId> devices, IActorRef coordinator, SimulatedCollectives collectives, DeviceTiming timing, Timeline timeline, int node)
    {
        this.devices = devices;
        this.coordinator = coordinator;
        this.collectives = collectives;
        this.timing = timing;
        this.timeline = timeline;
        this.node = node;
        Receive<AbortGroup>(m => this.collectives.Abort(m.Epoch, m.Reason));
        Receive<JobEnded>(_ => { });
    }

    public static Props Props(IReadOnlyList<DeviceId> devices, IActorRef coordinator, SimulatedCollectives collectives, DeviceTiming timing, Timeline timeline, int node) =>
        Akka.Actor.Props.Create(() => new SimulatedNodeAgent(devices, coordinator, collectives, timing, timeline, node));

    protected override void PreStart()
    {
        foreach (var device in devices)
        {
            Context.ActorOf(SimulatedDevice.Props(device, coordinator, collectives, timing, timeline, node), ActorPaths.Device(device));
        }
    }
}
