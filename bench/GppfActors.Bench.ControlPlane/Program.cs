using System.Globalization;
using Akka.Actor;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;
using GppfActors.Bench.ControlPlane;
using GppfActors.Model.Schedules;

// dotnet run -c Release --project bench/GppfActors.Bench.ControlPlane [-- --steps 60 --delay-ms 0 --devices 8,64,256,1024]
// The real coordinator, task sampler, schedule manager and checkpoint journal (SQLite) drive N
// simulated devices spread over simulated nodes of 8; each device answers RunStep after the delay.
// Per step: from the last StepCompleted leaving a device to the last RunStep of the next step
// reaching one (the coordinator's whole turn-around: collect, draw, schedule, fan out).
int steps = 60;
int delayMs = 0;
int[] sizes = [8, 64, 256, 1024];
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--steps": steps = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--delay-ms": delayMs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--devices": sizes = args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}
int warmup = Math.Min(50, steps / 3);
Console.WriteLine($"control plane: {steps} steps ({warmup} warm-up steps not counted), device delay {delayMs} ms, {Environment.ProcessorCount} cores; paper-r50's 8 tasks and batch sizes");
Console.WriteLine();
Console.WriteLine("| devices | coordinator turn-around median (ms) | p95 (ms) | per device (us) | fan-out of RunStep (ms) | RunStep + StepCompleted per step | steps/s |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (int n in sizes)
{
    var r = Run(n, steps, warmup, TimeSpan.FromMilliseconds(delayMs));
    Console.WriteLine($"| {n} | {r.Median:0.00} | {r.P95:0.00} | {r.Median * 1000 / n:0.0} | {r.FanOut:0.00} | {2 * r.RunSteps} | {r.StepsPerSecond:0.0} |");
}
return 0;

static (double Median, double P95, double FanOut, int RunSteps, double StepsPerSecond) Run(int devices, int steps, int warmup, TimeSpan delay)
{
    var dir = Path.Combine(Path.GetTempPath(), "gppf-bench-cp-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(dir);
    var system = ActorSystem.Create("control-plane", CheckpointJournalConfig.Sqlite(Path.Combine(dir, "journal.db"))
        .WithFallback(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING")).WithFallback(ActorSystemConfig.Base));
    try
    {
        SampledTask[] tasks =
        [
            new("in21k", 4.0, 13_000_000, 96), new("coco", 2.5, 118_000, 8), new("lvis", 2.5, 100_000, 8), new("objects365", 4.0, 1_700_000, 12),
            new("openimages", 4.0, 1_700_000, 12), new("ade20k", 1.0, 20_000, 8), new("cocostuff", 2.0, 118_000, 8), new("voc", 1.0, 10_000, 8),
        ];
        var sampler = new TaskSamplerState(tasks, 7, SamplingMode.Simt);
        var schedule = new ScheduleState(new CosineWarmupSchedule(0.16, 5, steps, 0), new TemperatureSchedule(5.0, 0.01, steps));
        var journal = system.ActorOf(CheckpointJournal.Props(CheckpointJournal.PersistenceIdFor("control-plane"), new RetentionPolicy(3, 0)));
        var done = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = system.ActorOf(Props.Create(() => new Listener(done)));
        var settings = new CoordinatorSettings(steps, devices, CollectiveTimeoutSeconds: 60) { VerifyReplicas = true };
        var coordinator = system.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, listener, journal), ActorPaths.Coordinator);
        var clock = new StepClock();
        for (int node = 0; node * 8 < devices; node++)
        {
            var parent = system.ActorOf(Props.Create(() => new SimulatedNode()), $"sim-node-{node}");
            for (int d = node * 8; d < Math.Min(devices, node * 8 + 8); d++)
            {
                var id = new DeviceId("cpu", d - node * 8) { Node = $"sim-{node}" };
                parent.Tell(new SimulatedNode.Start(id, coordinator, delay, clock));
            }
        }
        var end = done.Task.Wait(TimeSpan.FromMinutes(10)) ? done.Task.Result : throw new TimeoutException("the run did not end");
        if (end is not TrainingFinished)
        {
            throw new InvalidOperationException($"the run did not finish: {end}");
        }
        double stepsPerSecond = (steps - 1 - warmup) / clock.Seconds(warmup, steps - 1);
        var gaps = clock.Gaps(warmup, steps - 1).ToList();
        var sorted = gaps.Select(g => g.CoordinatorMs).Order().ToList();
        return (sorted[sorted.Count / 2], sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(sorted.Count * 0.95) - 1)],
            gaps.Select(g => g.FanOutMs).Order().ElementAt(gaps.Count / 2), gaps[0].RunSteps, stepsPerSecond);
    }
    finally
    {
        system.Terminate().Wait(TimeSpan.FromSeconds(30));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
    }
}

internal sealed class Listener : ReceiveActor
{
    public Listener(TaskCompletionSource<object> done)
    {
        Receive<TrainingFinished>(m => done.TrySetResult(m));
        Receive<TrainingFailed>(m => done.TrySetResult(m));
        ReceiveAny(_ => { });
    }
}

internal sealed class SimulatedNode : ReceiveActor
{
    public SimulatedNode()
    {
        Receive<Start>(m => Context.ActorOf(SimulatedDevice.Props(m.Device, m.Coordinator, m.Delay, m.Clock), $"device-{m.Device.Kind}-{m.Device.Ordinal}"));
    }

    public sealed record Start(DeviceId Device, IActorRef Coordinator, TimeSpan Delay, StepClock Clock);
}
