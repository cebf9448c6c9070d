using Akka.Actor;
using Akka.Event;
using GppfActors.Actors.Devices;
using GppfActors.Collectives;
using GppfActors.Model.Routing;

namespace GppfActors.Actors.Node;

/// <summary>
/// One per node: sets libtorch's process-wide thread count for the local devices, creates one
/// device actor per device and supervises them, aborts the local members of a group when the
/// coordinator says so (on its own thread, since device threads may be blocked in that group), and
/// passes the end of the job on to the node's listener. Child of the node's root (the host).
/// </summary>
public sealed class NodeAgent : ReceiveActor
{
    private readonly IReadOnlyList<DeviceId> devices;
    private readonly IDeviceWorkloadFactory factory;
    private readonly ICollectiveGroupFactory collectives;
    private readonly IActorRef coordinator;
    private readonly IActorRef? nodeListener;
    private readonly RoutingMode mode;
    private readonly bool syncBatchNorm;
    private readonly ulong seed;
    private readonly DeviceFaults faults;
    private readonly ILoggingAdapter log = Context.GetLogger();

    public NodeAgent(IReadOnlyList<DeviceId> devices, IDeviceWorkloadFactory factory, ICollectiveGroupFactory collectives, IActorRef coordinator, RoutingMode mode,
        bool syncBatchNorm, ulong seed, DeviceFaults? faults = null, IActorRef? nodeListener = null)
    {
        this.faults = faults ?? DeviceFaults.None;
        this.devices = devices;
        this.factory = factory;
        this.collectives = collectives;
        this.coordinator = coordinator;
        this.nodeListener = nodeListener;
        this.mode = mode;
        this.syncBatchNorm = syncBatchNorm;
        this.seed = seed;
        Receive<AbortGroup>(m => this.collectives.Abort(m.Epoch, m.Reason));
        Receive<JobEnded>(m => this.nodeListener?.Tell(m));
        Receive<Coordinator.ReportForTakeover>(Handle);
    }

    public static Props Props(IReadOnlyList<DeviceId> devices, IDeviceWorkloadFactory factory, ICollectiveGroupFactory collectives, IActorRef coordinator,
        RoutingMode mode, bool syncBatchNorm, ulong seed, DeviceFaults? faults = null, IActorRef? nodeListener = null) =>
        Akka.Actor.Props.Create(() => new NodeAgent(devices, factory, collectives, coordinator, mode, syncBatchNorm, seed, faults, nodeListener));

    /// <summary>
    /// Policy: a device that throws is restarted (a fresh replica; the coordinator then brings it
    /// the current weights, optimizer and sampler state under a new epoch), up to 10 times a
    /// minute; a device that keeps failing is stopped and training goes on without it.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(10, TimeSpan.FromMinutes(1), e =>
        {
            log.Error(e, "device failed; restarting it");
            return e switch
            {
                ActorInitializationException => Directive.Stop,
                _ => Directive.Restart,
            };
        });

    // A coordinator is taking over: wake devices blocked in a collective of the old coordinator's
    // epoch (their peers on the lost node are gone), say how many devices will report, and ask each.
    private void Handle(Coordinator.ReportForTakeover message)
    {
        if (collectives.NewestEpoch is var newest and >= 0)
        {
            collectives.Abort(newest, $"a new coordinator is taking over: {message.Reason}");
        }
        var children = Context.GetChildren().ToList();
        // The node's own address as the cluster knows it (a local actor path carries none).
        var node = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress;
        Sender.Tell(new Coordinator.NodeReport(node.ToString(), children.Count));
        foreach (var child in children)
        {
            child.Forward(message);
        }
    }

    protected override void PreStart()
    {
        factory.PrepareProcess(devices);
        foreach (var device in devices)
        {
            Context.ActorOf(DeviceActor.Props(device, factory, collectives, coordinator, mode, syncBatchNorm, seed, faults), ActorPaths.Device(device));
        }
    }
}
