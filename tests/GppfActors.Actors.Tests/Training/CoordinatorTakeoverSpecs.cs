using Akka.Actor;
using Akka.TestKit.Xunit2;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Node;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;
using GppfActors.Collectives;
using GppfActors.Model.Routing;
using GppfActors.Model.Schedules;
using Xunit;

namespace GppfActors.Actors.Tests.Training;

/// <summary>
/// A coordinator stopped at a random moment mid-run, and a new one that takes over from what the
/// devices carry (no checkpoint exists): the run ends byte-identical to an undisturbed one, having
/// run again at most the step in flight; a command of the superseded coordinator is ignored.
/// </summary>
public class CoordinatorTakeoverSpecs() : TestKit(ActorSystemConfig.Base)
{
    private static readonly SampledTask[] Tasks = [new("colour", 2.0, 512, 8), new("stripes", 1.0, 512, 8)];
    private const int Devices = 3;
    private const long MaxSteps = 14;
    private readonly List<CollectiveNode> nodes = [];

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            nodes.ForEach(n => n.Dispose());
        }
    }

    private static ScheduleState Schedule() => new(new CosineWarmupSchedule(0.05, 5, MaxSteps), new TemperatureSchedule(5.0, 0.5, MaxSteps));

    private static CoordinatorSettings Settings(int evalEvery = 0) => new(MaxSteps, Devices, EvalEverySteps: evalEvery, EvalBatches: 1, CollectiveTimeoutSeconds: 20);

    private (IActorRef Agent, ToyWorkloadFactory Factory) Agent(string name, IActorRef coordinator, FaultPlan? faults = null)
    {
        var collectives = new CollectiveNode();
        nodes.Add(collectives);
        var factory = new ToyWorkloadFactory(faults ?? new FaultPlan());
        var agent = Sys.ActorOf(NodeAgent.Props(DeviceId.ParseList($"cpu:{Devices}"), factory, collectives, coordinator, RoutingMode.Soft, true, 9), name);
        return (agent, factory);
    }

    private static List<TrainingProgress> RunToEnd(Akka.TestKit.TestProbe probe, Func<TrainingProgress, bool>? stopAfter = null)
    {
        var progress = new List<TrainingProgress>();
        while (true)
        {
            switch (probe.ExpectMsg<object>(TimeSpan.FromSeconds(60)))
            {
                case TrainingProgress p:
                    progress.Add(p);
                    if (stopAfter?.Invoke(p) == true)
                    {
                        return progress;
                    }
                    break;
                case TrainingFinished:
                    return progress;
                case TrainingFailed f:
                    Assert.Fail(f.Reason);
                    break;
            }
        }
    }

    [Theory]
    [InlineData(20261201)]
    [InlineData(20261202)]
    [InlineData(20261203)]
    public void Should_end_byte_identical_to_an_undisturbed_run_when_a_new_coordinator_takes_over_from_the_devices(int seed)
    {
        // The undisturbed run.
        var referenceListener = CreateTestProbe();
        var reference = Sys.ActorOf(TrainingCoordinator.Props(Settings(), new TaskSamplerState(Tasks, 5, SamplingMode.Simt), Schedule(), referenceListener), "reference");
        var (referenceAgent, referenceFactory) = Agent("reference-agent", reference);
        RunToEnd(referenceListener);
        var expected = referenceFactory.Live.Select(w => ((IDeviceWorkload)w).StateDigest()).ToList();
        Assert.Single(expected.Distinct());
        Sys.Stop(referenceAgent);

        // The same run, whose coordinator is stopped a random fraction of a step after step k.
        var random = new Random(seed);
        long k = 3 + random.Next(6);
        var lostListener = CreateTestProbe();
        var lost = Sys.ActorOf(TrainingCoordinator.Props(Settings(), new TaskSamplerState(Tasks, 5, SamplingMode.Simt), Schedule(), lostListener), "lost");
        var (agent, factory) = Agent("agent", lost);
        var before = RunToEnd(lostListener, p => p.Step == k);
        Thread.Sleep(TimeSpan.FromMilliseconds(random.Next(0, 40)));
        Watch(lost);
        Sys.Stop(lost);
        ExpectTerminated(lost);

        var plan = TakeOver(agent, Settings());
        Assert.True(plan.StepsLost <= 1, $"{plan.StepsLost} steps lost");
        Assert.True(plan.Step >= k + 1, $"step {k} was reported applied, but the takeover continues at step {plan.Step}");
        Assert.Contains(k, before.Select(p => p.Step));
        Assert.Equal(expected, factory.Live.Select(w => ((IDeviceWorkload)w).StateDigest()).ToList());
    }

    [Fact]
    public void Should_lose_no_step_when_the_coordinator_is_lost_between_two_steps()
    {
        // The evaluation after the first K steps (0 to K - 1) holds the devices between steps K - 1
        // and K: every replica has applied step K - 1 and none has a command for step K.
        const int K = 5;
        var referenceListener = CreateTestProbe();
        var reference = Sys.ActorOf(TrainingCoordinator.Props(Settings(K), new TaskSamplerState(Tasks, 5, SamplingMode.Simt), Schedule(), referenceListener), "reference");
        var (referenceAgent, referenceFactory) = Agent("reference-agent", reference);
        RunToEnd(referenceListener);
        var expected = referenceFactory.Live.Select(w => ((IDeviceWorkload)w).StateDigest()).ToList();
        Sys.Stop(referenceAgent);

        var faults = new FaultPlan { HangingEvaluation = 1 };
        var lost = Sys.ActorOf(TrainingCoordinator.Props(Settings(K), new TaskSamplerState(Tasks, 5, SamplingMode.Simt), Schedule(), CreateTestProbe()), "lost");
        var (agent, factory) = Agent("agent", lost, faults);
        Assert.True(faults.Hanging.Wait(TimeSpan.FromSeconds(60)), $"no device started the evaluation after step {K - 1}");
        Watch(lost);
        Sys.Stop(lost);
        ExpectTerminated(lost);
        faults.Release();

        var plan = TakeOver(agent, Settings(K));
        Assert.Equal(0, plan.StepsLost);
        Assert.Equal(K, plan.Step);
        Assert.Equal(expected, factory.Live.Select(w => ((IDeviceWorkload)w).StateDigest()).ToList());
    }

    // A new coordinator collects what the devices hold, as the job leader does on another node, and
    // runs the job to its end; every step from the one it continues at is run once.
    private Takeover.Plan<IActorRef> TakeOver(IActorRef agent, CoordinatorSettings original)
    {
        var collector = CreateTestProbe();
        agent.Tell(new ReportForTakeover("the coordinator stopped"), collector);
        Assert.Equal(Devices, collector.ExpectMsg<NodeReport>().Devices);
        var reports = new List<(IActorRef Device, DeviceReport Report)>();
        for (int i = 0; i < Devices; i++)
        {
            var report = collector.ExpectMsg<DeviceReport>(TimeSpan.FromSeconds(30));
            reports.Add((collector.LastSender, report));
        }
        var sampler = new TaskSamplerState(Tasks, 5, SamplingMode.Simt);
        var plan = Assert.IsType<Takeover.Decision<IActorRef>.Continue>(Takeover.Resolve(reports, sampler)).Plan;
        Assert.Equal(Devices, plan.Current.Count);
        var schedule = Schedule();
        schedule.LoadJson(plan.Schedule);
        var settings = original with { StartStep = plan.Step, StartEpoch = plan.EpochFloor };
        var takeoverListener = CreateTestProbe();
        Sys.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, takeoverListener, takeover:
            new TrainingCoordinator.TakeoverStart(reports, plan.Current, plan.NonFiniteTotal, plan.NonFiniteConsecutive, plan.LastCommittedStep)), "took-over");

        var after = RunToEnd(takeoverListener);
        Assert.Equal(Enumerable.Range((int)plan.Step, (int)(MaxSteps - plan.Step)).Select(i => (long)i), after.Select(p => p.Step));
        return plan;
    }
}
