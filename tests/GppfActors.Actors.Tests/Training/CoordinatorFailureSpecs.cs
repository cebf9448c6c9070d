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
/// Failures that used to hang or loop forever end the run, or are survived, within a deadline:
/// a device that cannot start, a sampler that fails, a step that fails the same way every time,
/// bad data, a device stuck outside any collective, an evaluation that throws.
/// </summary>
public class CoordinatorFailureSpecs() : TestKit(ActorSystemConfig.Base)
{
    private static readonly SampledTask[] Tasks = [new("colour", 2.0, 512, 8), new("stripes", 1.0, 512, 8)];
    private readonly CollectiveNode collectives = new();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            collectives.Dispose();
        }
    }

    private IActorRef Start(int devices, long maxSteps, IDeviceWorkloadFactory factory, Func<CoordinatorSettings, CoordinatorSettings>? adjust = null, int evalEvery = 0)
    {
        var sampler = new TaskSamplerState(Tasks, 5, SamplingMode.Simt);
        var schedule = new ScheduleState(new CosineWarmupSchedule(0.05, 5, maxSteps), new TemperatureSchedule(5.0, 0.5, maxSteps));
        var settings = new CoordinatorSettings(maxSteps, devices, EvalEverySteps: evalEvery, EvalBatches: 1, CollectiveTimeoutSeconds: 20) { TickSeconds = 0.1, StepRetries = 2 };
        settings = adjust?.Invoke(settings) ?? settings;
        var coordinator = Sys.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, TestActor), ActorPaths.Coordinator);
        Sys.ActorOf(NodeAgent.Props(DeviceId.ParseList($"cpu:{devices}"), factory, collectives, coordinator, RoutingMode.Soft, true, 9), ActorPaths.NodeAgent);
        return coordinator;
    }

    private List<object> UntilEnd(double seconds)
    {
        var events = new List<object>();
        while (events.LastOrDefault() is not (TrainingFinished or TrainingFailed))
        {
            events.Add(ExpectMsg<object>(TimeSpan.FromSeconds(seconds)));
        }
        return events;
    }

    [Fact]
    public void Should_end_the_run_naming_the_cause_when_a_device_cannot_start()
    {
        Start(2, 10, new FailingFactory(new ToyWorkloadFactory(new FaultPlan()), failingOrdinal: 1, "checkpoint does not fit this model: missing heads.cls.weight"));

        var failed = ExpectMsg<TrainingFailed>(TimeSpan.FromSeconds(30));

        Assert.Contains("cpu:1 could not start", failed.Reason);
        Assert.Contains("missing heads.cls.weight", failed.Reason);
    }

    [Fact]
    public void Should_end_the_run_when_not_every_device_starts_within_the_start_timeout()
    {
        var sampler = new TaskSamplerState(Tasks, 5, SamplingMode.Simt);
        var schedule = new ScheduleState(new CosineWarmupSchedule(0.05, 5, 10), new TemperatureSchedule(5.0, 0.5, 10));
        var settings = new CoordinatorSettings(10, 3, CollectiveTimeoutSeconds: 20) { TickSeconds = 0.1, StartTimeoutSeconds = 2 };
        var coordinator = Sys.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, TestActor), ActorPaths.Coordinator);
        Sys.ActorOf(NodeAgent.Props(DeviceId.ParseList("cpu:2"), new ToyWorkloadFactory(new FaultPlan()), collectives, coordinator, RoutingMode.Soft, true, 9), ActorPaths.NodeAgent);

        var failed = ExpectMsg<TrainingFailed>(TimeSpan.FromSeconds(20));

        Assert.Contains("only 2 of 3 device(s) started within 2 s", failed.Reason);
    }

    [Fact]
    public void Should_end_the_run_naming_the_cause_when_the_task_sampler_fails()
    {
        Start(2, 200, new ToyWorkloadFactory(new FaultPlan()));
        ExpectMsg<MembershipChanged>(TimeSpan.FromSeconds(30));
        ExpectMsg<TrainingProgress>(TimeSpan.FromSeconds(30));

        Sys.ActorSelection($"/user/{ActorPaths.Coordinator}/{ActorPaths.TaskSampler}").Tell(new RestoreSamplerState("{ not json"));

        var failed = UntilEnd(30).OfType<TrainingFailed>().Single();
        Assert.Contains("task sampler failed", failed.Reason);
        Assert.Contains("unreadable JSON", failed.Reason);
    }

    [Fact]
    public void Should_stop_retrying_a_step_that_fails_the_same_way_every_time()
    {
        Start(3, 20, new ToyWorkloadFactory(new FaultPlan { Mismatch = (1, 4) }));

        var events = UntilEnd(60);

        var failed = Assert.IsType<TrainingFailed>(events[^1]);
        Assert.Contains("step 4 failed 3 times in a row (train.step_retries = 2)", failed.Reason);
        Assert.Contains("stray-collective", failed.Reason);
        Assert.Equal(Enumerable.Range(0, 4).Select(i => (long)i), events.OfType<TrainingProgress>().Select(p => p.Step));
    }

    [Fact]
    public void Should_end_the_run_at_once_naming_the_file_when_a_sample_is_bad()
    {
        Start(3, 20, new ToyWorkloadFactory(new FaultPlan { Data = (2, 5) }));

        var events = UntilEnd(60);

        var failed = Assert.IsType<TrainingFailed>(events[^1]);
        Assert.Contains("step 5: the data could not be loaded", failed.Reason);
        Assert.Contains(".png: decoding sample", failed.Reason);
        Assert.Contains("data.skip_bad_samples", failed.Reason);
        Assert.Single(events.OfType<MembershipChanged>());          // no retry: it would read the same sample
    }

    [Fact]
    public void Should_drop_a_device_stuck_outside_collectives_and_finish_without_it()
    {
        var faults = new FaultPlan { Hang = (2, 6) };
        var factory = new ToyWorkloadFactory(faults);
        Start(3, 14, factory, s => s with { CollectiveTimeoutSeconds = 2, StepTimeoutSeconds = 4 });
        try
        {
            var events = UntilEnd(60);

            Assert.IsType<TrainingFinished>(events[^1]);
            Assert.True(faults.Hanging.IsSet);
            var changes = events.OfType<MembershipChanged>().ToList();
            Assert.Contains(changes, c => c.WorldSize == 2);
            // The step the stuck device was in is redone by the others; every step is reported once.
            Assert.Equal(Enumerable.Range(0, 14).Select(i => (long)i), events.OfType<TrainingProgress>().Select(p => p.Step));
        }
        finally
        {
            faults.Release();
        }
    }

    [Fact]
    public void Should_report_a_failed_evaluation_and_keep_training()
    {
        Start(2, 12, new ToyWorkloadFactory(new FaultPlan { FailingEvaluation = "stripes" }), evalEvery: 6);

        var events = UntilEnd(60);

        var finished = Assert.IsType<TrainingFinished>(events[^1]);
        var reports = events.OfType<EvaluationReport>().ToList();
        Assert.Equal([6L, 12L], reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.Contains("not a PNG", r.Failures["stripes"]));
        Assert.All(reports, r => Assert.True(r.Metrics.ContainsKey("colour")));
        Assert.Contains("not a PNG", finished.EvaluationFailures["stripes"]);
        Assert.Equal(12, events.OfType<TrainingProgress>().Count());
    }

    /// <summary>Builds workloads, except that one device's creation throws (as a checkpoint that does not fit would).</summary>
    private sealed class FailingFactory(IDeviceWorkloadFactory inner, int failingOrdinal, string reason) : IDeviceWorkloadFactory
    {
        public IDeviceWorkload Create(DeviceId device) =>
            device.Ordinal == failingOrdinal ? throw new ArgumentException(reason) : inner.Create(device);
    }
}
