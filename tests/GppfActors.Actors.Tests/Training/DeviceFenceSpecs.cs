using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Node;
using GppfActors.Collectives;
using GppfActors.Model.Routing;
using Xunit;

namespace GppfActors.Actors.Tests.Training;

/// <summary>
/// Once a coordinator on another node has taken over, a device obeys only that node: the
/// superseded coordinator's commands are dropped, and epochs only grow. Two actor systems with
/// remoting on 127.0.0.1, so the coordinators have different addresses, as in a cluster.
/// </summary>
public sealed class DeviceFenceSpecs() : TestKit(ActorSystemConfig.Setup(Remote()), "fence-devices")
{
    private readonly CollectiveNode collectives = new();
    private ActorSystem? other;

    private static Config Remote() => ConfigurationFactory.ParseString("""
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        """).WithFallback(ActorSystemConfig.Base);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            other?.Terminate().Wait(TimeSpan.FromSeconds(10));
            collectives.Dispose();
        }
    }

    [Fact]
    public void Should_drop_the_superseded_coordinators_commands_once_another_node_took_over()
    {
        var superseded = CreateTestProbe();
        Sys.ActorOf(NodeAgent.Props(DeviceId.ParseList("cpu:1"), new ToyWorkloadFactory(new FaultPlan()), collectives, superseded.Ref, RoutingMode.Soft, true, 9),
            ActorPaths.NodeAgent);
        superseded.ExpectMsg<DeviceStarted>(TimeSpan.FromSeconds(30));
        var device = superseded.LastSender;
        var local = new GroupSpec(3, 20, [new GroupMember(0, collectives.ProcessId, collectives.Endpoint)]);
        device.Tell(new JoinGroup(3, 0, local), superseded.Ref);
        Assert.Equal(3, superseded.ExpectMsg<GroupJoined>(TimeSpan.FromSeconds(10)).Epoch);

        // A coordinator on another node takes over through the node agent.
        other = ActorSystem.Create("fence-coordinator", ActorSystemConfig.Setup(Remote()));
        var heir = CreateTestProbe(other);
        var address = ((ExtendedActorSystem)Sys).Provider.DefaultAddress;
        var agent = other.ActorSelection(new RootActorPath(address) / "user" / ActorPaths.NodeAgent);
        agent.Tell(new ReportForTakeover("test"), heir.Ref);
        Assert.Equal(1, heir.ExpectMsg<NodeReport>(TimeSpan.FromSeconds(10)).Devices);
        var report = heir.ExpectMsg<DeviceReport>(TimeSpan.FromSeconds(10));
        Assert.Equal(3, report.Epoch);
        Assert.Null(report.ReadyFor);           // joined, never aligned or stepped: no trained state
        var remoteDevice = heir.LastSender;

        // The superseded coordinator's next epoch is dropped ...
        device.Tell(new JoinGroup(4, 0, local with { Epoch = 4 }), superseded.Ref);
        superseded.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        // ... the new coordinator's is joined, and an epoch that is not newer is refused even from it.
        remoteDevice.Tell(new JoinGroup(5, 0, local with { Epoch = 5 }), heir.Ref);
        Assert.Equal(5, heir.ExpectMsg<GroupJoined>(TimeSpan.FromSeconds(10)).Epoch);
        remoteDevice.Tell(new JoinGroup(5, 0, local with { Epoch = 5 }), heir.Ref);
        heir.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        remoteDevice.Tell(new AlignReplicas(5, 0, 9), heir.Ref);
        heir.ExpectMsg<ReplicasAligned>(TimeSpan.FromSeconds(10));
        remoteDevice.Tell(new ReportForTakeover("again"), heir.Ref);
        Assert.Equal(9, heir.ExpectMsg<DeviceReport>(TimeSpan.FromSeconds(10)).ReadyFor);
    }
}
