using Akka.Actor;
using GppfActors.Actors.Devices;

namespace GppfActors.Bench.Recovery;

/// <summary>
/// A device with stubbed compute that speaks the real step protocol: announces itself to the
/// coordinator (through the singleton proxy), joins each epoch's group, aligns (its part of the
/// broadcast, then the rendezvous with every rank), answers every <see cref="RunStep"/> after its
/// part of the step and the step's last collective, and answers <see cref="StepFailed"/> when the
/// epoch is aborted, as a device blocked in a collective does. No tensors. Child of a
/// <see cref="SimulatedNodeAgent"/>.
/// </summary>
internal sealed class SimulatedDevice : ReceiveActor
{
    private readonly DeviceId device;
    private readonly SimulatedCollectives collectives;
    private readonly DeviceTiming timing;
    private readonly Timeline timeline;
    private readonly int node;
    private int rank = -1;
    private int worldSize;

    public SimulatedDevice(DeviceId device, IActorRef coordinator, SimulatedCollectives collectives, DeviceTiming timing, Timeline timeline, int node)
    {
        this.device = device;
        this.collectives = collectives;
        this.timing = timing;
        this.timeline = timeline;
        this.node = node;
        Receive<JoinGroup>(Handle);
        Receive<AlignReplicas>(Handle);
        Receive<RunStep>(Handle);
        Receive<Met>(Handle);
        Receive<ReportReplicaDigest>(m => Sender.Tell(new ReplicaDigest(m.Epoch, rank, device, new string('0', 64))));
        coordinator.Tell(new DeviceStarted(device, device.Node, $"sim:{device.Node}"));
    }

    public static Props Props(DeviceId device, IActorRef coordinator, SimulatedCollectives collectives, DeviceTiming timing, Timeline timeline, int node) =>
        Akka.Actor.Props.Create(() => new SimulatedDevice(device, coordinator, collectives, timing, timeline, node));

    private void Handle(JoinGroup message)
    {
        rank = message.Rank;
        worldSize = message.Spec.WorldSize;
        Sender.Tell(new GroupJoined(message.Epoch, message.Rank, device));
    }

    private void Handle(AlignReplicas message) =>
        Meet(message.Epoch, "align", timing.Align, new ReplicasAligned(message.Epoch, rank), reason => new StepFailed(message.Epoch, -1, rank, reason));

    private void Handle(RunStep message) =>
        Meet(message.Epoch, $"step {message.Step}", timing.Step,
            new StepCompleted(message.Epoch, message.Step, rank, message.Task, 1.0, new Dictionary<string, double>(), message.SampleIndices.Count, new StepTimings(0, 0, 0, 0)),
            reason => new StepFailed(message.Epoch, message.Step, rank, reason));

    private void Handle(Met message)
    {
        if (message.Reply is ReplicasAligned aligned)
        {
            timeline.Add(node, MarkKind.Aligned, device.ToString(), aligned.Epoch);
        }
        message.To.Tell(message.Reply);
    }

    // The device's part takes its time; then the collective that ends the operation waits for every rank.
    private void Meet(long epoch, string operation, TimeSpan work, object completed, Func<string, object> failed)
    {
        var to = Sender;
        collectives.MeetAsync(device.Node, epoch, operation, worldSize, work, timing.CollectiveTimeout)
            .PipeTo(Self, success: reason => new Met(reason is null ? completed : failed(reason), to));
    }

    private sealed record Met(object Reply, IActorRef To);
}
