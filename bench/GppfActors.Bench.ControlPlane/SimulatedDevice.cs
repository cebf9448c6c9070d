using System.Diagnostics;
using Akka.Actor;
using GppfActors.Actors.Devices;

namespace GppfActors.Bench.ControlPlane;

/// <summary>When the messages of each step reached the devices and left them, on one clock.</summary>
internal sealed class StepClock
{
    private readonly object gate = new();
    private readonly Dictionary<long, (long FirstRunStep, long LastRunStep, long LastCompleted, int RunSteps)> steps = [];

    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public void RunStepArrived(long step)
    {
        long now = Clock.ElapsedTicks;
        lock (gate)
        {
            var s = steps.GetValueOrDefault(step, (long.MaxValue, 0, 0, 0));
            steps[step] = (Math.Min(s.FirstRunStep, now), Math.Max(s.LastRunStep, now), s.LastCompleted, s.RunSteps + 1);
        }
    }

    public void CompletedSent(long step)
    {
        long now = Clock.ElapsedTicks;
        lock (gate)
        {
            var s = steps.GetValueOrDefault(step, (long.MaxValue, 0, 0, 0));
            steps[step] = (s.FirstRunStep, s.LastRunStep, Math.Max(s.LastCompleted, now), s.RunSteps);
        }
    }

    /// <summary>Seconds from the last RunStep of step <paramref name="from"/> reaching a device to the last of step <paramref name="to"/>.</summary>
    public double Seconds(long from, long to)
    {
        lock (gate)
        {
            return (steps[to].LastRunStep - steps[from].LastRunStep) / (double)Stopwatch.Frequency;
        }
    }

    /// <summary>Per step s: from the last StepCompleted of s leaving a device to the last RunStep of s + 1 reaching one, in ms.</summary>
    public IReadOnlyList<(long Step, double CoordinatorMs, double FanOutMs, int RunSteps)> Gaps(long from, long to)
    {
        lock (gate)
        {
            var result = new List<(long, double, double, int)>();
            for (long s = from; s < to; s++)
            {
                if (steps.TryGetValue(s, out var now) && steps.TryGetValue(s + 1, out var next))
                {
                    double ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
                    result.Add((s, ms(next.LastRunStep - now.LastCompleted), ms(next.LastRunStep - next.FirstRunStep), next.RunSteps));
                }
            }
            return result;
        }
    }
}

/// <summary>
/// A device with stubbed compute: it speaks the device protocol (announces itself, joins groups,
/// "aligns", answers every RunStep after a fixed delay, reports a digest) and runs no tensors.
/// </summary>
internal sealed class SimulatedDevice : ReceiveActor
{
    public SimulatedDevice(DeviceId device, IActorRef coordinator, TimeSpan delay, StepClock clock)
    {
        int rank = -1;
        Receive<JoinGroup>(m =>
        {
            rank = m.Rank;
            Sender.Tell(new GroupJoined(m.Epoch, m.Rank, device));
        });
        Receive<AlignReplicas>(m => Sender.Tell(new ReplicasAligned(m.Epoch, rank)));
        Receive<RunStep>(m =>
        {
            clock.RunStepArrived(m.Step);
            var reply = new StepCompleted(m.Epoch, m.Step, rank, m.Task, 1.0, new Dictionary<string, double>(), m.SampleIndices.Count, new StepTimings(0, 0, 0, 0));
            if (delay <= TimeSpan.Zero)
            {
                clock.CompletedSent(m.Step);
                Sender.Tell(reply);
            }
            else
            {
                Context.System.Scheduler.ScheduleTellOnce(delay, Self, new Reply(reply, Sender), Self);
            }
        });
        Receive<Reply>(m =>
        {
            clock.CompletedSent(m.Message.Step);
            m.To.Tell(m.Message);
        });
        Receive<EvaluateTask>(m => Sender.Tell(new TaskEvaluated(m.Step, m.Task, new Dictionary<string, double> { ["score"] = 0 }, [[0.5, 0.5]])));
        Receive<ReportReplicaDigest>(m => Sender.Tell(new ReplicaDigest(m.Epoch, rank, device, new string('0', 64))));
        coordinator.Tell(new DeviceStarted(device, device.Node ?? "sim", "sim:0"));
    }

    public static Props Props(DeviceId device, IActorRef coordinator, TimeSpan delay, StepClock clock) =>
        Akka.Actor.Props.Create(() => new SimulatedDevice(device, coordinator, delay, clock));

    private sealed record Reply(StepCompleted Message, IActorRef To);
}
