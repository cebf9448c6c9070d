using Akka.Actor;
using Akka.Configuration;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Messages;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Node;
using GppfActors.Collectives;
using Outside;
using Xunit;

namespace GppfActors.ClusterConfig.Tests;

/// <summary>
/// What crosses between nodes: every message of the protocol survives Hyperion under the cluster
/// node's type filter, and a type from outside the project is refused, as bytes and over a real
/// remoting connection.
/// </summary>
public sealed class WireSerializationSpecs : IDisposable
{
    private readonly ActorSystem node = ActorSystem.Create("node", NodeConfig.ClusterSetup(ConfigurationFactory.ParseString("akka.loglevel = ERROR").WithFallback(NodeConfig.Common)));

    public void Dispose() => node.Terminate().Wait(TimeSpan.FromSeconds(10));

    public static TheoryData<IGppfMessage> ProtocolMessages() => new()
    {
        new JoinGroup(3, 1, new GroupSpec(3, 60, [new GroupMember(0, "10.0.0.1:4053", "10.0.0.1:40001"), new GroupMember(1, "10.0.0.2:4053", "10.0.0.2:40002")])),
        // An NCCL group's spec carries rank 0's unique id (128 bytes as base64) to every rank.
        new JoinGroup(4, 0, new GroupSpec(4, 60, [new GroupMember(0, "10.0.0.1:4053", ""), new GroupMember(1, "10.0.0.2:4053", "")])
        { NcclUniqueId = Convert.ToBase64String([.. Enumerable.Range(0, 128).Select(i => (byte)(255 - i))]) }),
        new MakeGroupId(4),
        new GroupIdMade(4, Convert.ToBase64String([.. Enumerable.Range(0, 128).Select(i => (byte)i)])),
        new GroupIdMade(5, null),
        new RunStep(3, 17, "coco", [5L, 9L, 2L], ["coco", "in21k"], 0.16, 4.2, new NextStepHint(18, "coco", new long[] { 1, 4 })),
        new StepCompleted(3, 17, 1, "coco", 1.25, new Dictionary<string, double> { ["box_ap"] = 0.1 }, 8, new StepTimings(0.1, 0.2, 0.3, 0.4), Applied: false, NonFiniteRanks: 2),
        new StepCompleted(3, 18, 0, "coco", 1.5, new Dictionary<string, double>(), 8, new StepTimings(0.1, 0.2, 0.3, 0.4), UnitProbabilities: [[0.25, 0.75], [0.5, 0.5]]),
        new TrainingProgress(18, 3, 2, 0.16, 4.2, new Dictionary<string, double> { ["coco"] = 1.5 }, new Dictionary<string, double>(), 8,
            new Dictionary<string, int> { ["coco"] = 8 }, 0.7, 0.6, 0.1, [new DeviceStep("cpu:0", "10.0.0.1:4053", "coco", 0.6)],
            new Dictionary<string, IReadOnlyList<IReadOnlyList<double>>> { ["coco"] = [[0.25, 0.75]] }),
        new StepFailed(3, 17, 1, "aborted", StepFailureKind.Data),
        new DeviceStarted(new DeviceId("cpu", 1) { Node = "10.0.0.2:4053" }, "10.0.0.2:4053", "10.0.0.2:40002"),
        new DeviceFailedToStart(new DeviceId("cuda", 0), "out of memory"),
        new GroupJoined(3, 1, new DeviceId("cpu", 0)),
        new AlignReplicas(3, 0),
        new ReplicasAligned(3, 1),
        new AbortGroup(3, "node unreachable"),
        new EvaluateTask(20, "coco", 4),
        new TaskEvaluated(20, "coco", new Dictionary<string, double> { ["AP"] = 0.3 }, [[0.25, 0.75], [0.5, 0.5]]),
        new EvaluationFailed(20, "coco", "bad image"),
        new WriteCheckpoint(3, 20, "/runs/a", "{}", "[]", "{\"name\":\"a\"}"),
        new CheckpointWritten(20, Record()),
        new CheckpointWriteFailed(20, "disk full"),
        new RestoreCheckpoint(3, Record()),
        new CheckpointRestored(3, 0),
        new RestoreFailed(3, 0, "missing"),
        new ReportReplicaDigest(3),
        new ReplicaDigest(3, 1, new DeviceId("cpu", 0), new string('a', 64)),
        new JobEnded(true, 30, "finished at step 30"),
        new JobStarted("cpu-small", "akka.tcp://gppf@10.0.0.1:4053"),
        new NodeReachability("akka.tcp://gppf@10.0.0.2:4053", false),
        new TrainingFailed(5, "replicas diverged"),
        // The journal's events and protocol, persisted with the same serializer.
        new CommitCheckpoint(Record()),
        new CheckpointCommitted(Record()),
        new CheckpointsDeleted([4L, 8L]),
        new CheckpointDiscarded(20, "corrupt"),
        new RunStarted("cpu-small", new string('c', 64), new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc)),
        new LatestCheckpoint(Record(), [Record()]),
    };

    private static CheckpointRecord Record() => new(20, 3, "/runs/a/step-00000020", new string('b', 64), 1234, new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc));

    [Theory]
    [MemberData(nameof(ProtocolMessages))]
    public void Should_carry_every_protocol_message_through_the_filtered_serializer(IGppfMessage message)
    {
        var serializer = node.Serialization.FindSerializerFor(message);
        Assert.Equal("HyperionSerializer", serializer.GetType().Name);

        var back = serializer.FromBinary(serializer.ToBinary(message), message.GetType());

        // Records compare collections by reference; the JSON of both sides shows the contents.
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType()), System.Text.Json.JsonSerializer.Serialize(back, message.GetType()));
    }

    [Fact]
    public void Should_refuse_a_type_from_outside_the_project_alone_or_inside_a_project_message()
    {
        using var open = ActorSystem.Create("open", Unfiltered());
        var writer = open.Serialization.FindSerializerFor(new Gadget("rm -rf"));
        var reader = node.Serialization.FindSerializerForType(typeof(IGppfMessage));

        var alone = writer.ToBinary(new Gadget("rm -rf"));
        var inside = writer.ToBinary(new Carrier(new Gadget("rm -rf")));

        Assert.ThrowsAny<Exception>(() => reader.FromBinary(alone, typeof(object)));
        Assert.ThrowsAny<Exception>(() => reader.FromBinary(inside, typeof(Carrier)));
        // The same bytes read fine without the filter: it is the filter that refuses them.
        Assert.IsType<Gadget>(writer.FromBinary(alone, typeof(object)));
    }

    [Fact]
    public void Should_drop_a_foreign_type_sent_over_remoting_and_still_deliver_project_messages()
    {
        using var receiver = ActorSystem.Create("receiver", NodeConfig.ClusterSetup(Remoting().WithFallback(NodeConfig.Common)));
        using var sender = ActorSystem.Create("sender", Remoting().WithFallback(Unfiltered()));
        var got = new System.Collections.Concurrent.BlockingCollection<object>();
        var target = receiver.ActorOf(Props.Create(() => new Collector(got)), "inbox");
        var address = ((ExtendedActorSystem)receiver).Provider.DefaultAddress;
        var remote = sender.ActorSelection(new RootActorPath(address) / "user" / "inbox");

        remote.Tell(new Gadget("rm -rf"));
        remote.Tell(new AbortGroup(7, "after the gadget"));

        Assert.True(got.TryTake(out var first, TimeSpan.FromSeconds(20)), "the project message did not arrive");
        Assert.Equal(new AbortGroup(7, "after the gadget"), first);
        Assert.False(got.TryTake(out var second, TimeSpan.FromMilliseconds(500)), $"unexpected {second}");
    }

    private static Config Remoting() => ConfigurationFactory.ParseString("""
        akka.loglevel = ERROR
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        """);

    // A peer that binds everything to Hyperion with no filter: what an attacker could send.
    private static Config Unfiltered() => ConfigurationFactory.ParseString("""
        akka.loglevel = ERROR
        akka.actor.serializers.hyperion = "Akka.Serialization.HyperionSerializer, Akka.Serialization.Hyperion"
        akka.actor.serialization-bindings { "System.Object" = hyperion }
        """).WithFallback(ActorSystemConfig.Base);

    private sealed class Collector : ReceiveActor
    {
        public Collector(System.Collections.Concurrent.BlockingCollection<object> got) => ReceiveAny(got.Add);
    }
}
