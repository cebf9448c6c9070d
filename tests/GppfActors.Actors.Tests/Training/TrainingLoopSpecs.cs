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

/// <summary>The actor tree on virtual CPU devices with toy tasks: the step loop, evaluation and recovery from a failing device.</summary>
public class TrainingLoopSpecs() : TestKit(ActorSystemConfig.Base)
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

    private (IActorRef Coordinator, ToyWorkloadFactory Factory) Start(int devices, long maxSteps, FaultPlan faults, int evalEvery = 0)
    {
        var sampler = new TaskSamplerState(Tasks, 5, SamplingMode.Simt);
        var schedule = new ScheduleState(new CosineWarmupSchedule(0.05, 5, maxSteps), new TemperatureSchedule(5.0, 0.5, maxSteps));
        var settings = new CoordinatorSettings(maxSteps, devices, EvalEverySteps: evalEvery, EvalBatches: 2, CollectiveTimeoutSeconds: 20);
        var coordinator = Sys.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, TestActor), ActorPaths.Coordinator);
        var factory = new ToyWorkloadFactory(faults);
        var ids = DeviceId.ParseList($"cpu:{devices}");
        Sys.ActorOf(NodeAgent.Props(ids, factory, collectives, coordinator, RoutingMode.Soft, true, 9), ActorPaths.NodeAgent);
        return (coordinator, factory);
    }

    private static void AssertReplicasIdentical(IEnumerable<ToyWorkload> workloads)
    {
        var states = workloads.Select(w => w.Replica.Network.state_dict()).ToList();
        foreach (var state in states.Skip(1))
        {
            foreach (var (key, value) in states[0])
            {
                Assert.True(Checkpointing.Payloads.BytesOf(value).SequenceEqual(Checkpointing.Payloads.BytesOf(state[key])), $"replicas differ in {key}");
            }
        }
    }

    [Fact]
    public void Should_run_every_step_on_every_device_and_finish_with_metrics()
    {
        var (_, factory) = Start(devices: 3, maxSteps: 30, new FaultPlan(), evalEvery: 15);
        var membership = ExpectMsg<MembershipChanged>(TimeSpan.FromSeconds(30));
        Assert.Equal(3, membership.WorldSize);

        var progress = new List<TrainingProgress>();
        TrainingFinished? finished = null;
        var evaluations = new List<EvaluationReport>();
        while (finished is null)
        {
            var message = ExpectMsg<object>(TimeSpan.FromSeconds(60));
            switch (message)
            {
                case TrainingProgress p: progress.Add(p); break;
                case EvaluationReport e: evaluations.Add(e); break;
                case TrainingFinished f: finished = f; break;
                case TrainingFailed f: Assert.Fail(f.Reason); break;
            }
        }
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), progress.Select(p => p.Step));
        Assert.All(progress, p => Assert.Equal(24, p.Samples));
        // Each device of the step, in rank order, with the task it ran (those the step's samples came from).
        Assert.All(progress, p => Assert.Equal(["cpu:0", "cpu:1", "cpu:2"], p.Devices.Select(d => d.Device)));
        Assert.All(progress, p => Assert.Equal(p.SamplesPerTask.Keys.Order(), p.Devices.Select(d => d.Task).Distinct().Order()));
        Assert.All(progress.SelectMany(p => p.Devices), d => Assert.True(d.Seconds > 0 && d.Node.Length == 0, $"{d}"));
        Assert.Equal([15L, 30L], evaluations.Select(e => e.Step));
        Assert.Equal(30, finished.Step);
        Assert.True(finished.FinalMetrics["stripes"]["top1"] > 0.5, "stripes should be learned in 30 steps");
        AssertReplicasIdentical(factory.Live);
    }

    [Fact]
    public void Should_restart_a_failing_device_and_continue_with_identical_replicas()
    {
        var (_, factory) = Start(devices: 3, maxSteps: 24, new FaultPlan((1, 10)));
        var events = new List<object>();
        TrainingFinished? finished = null;
        while (finished is null)
        {
            var message = ExpectMsg<object>(TimeSpan.FromSeconds(60));
            events.Add(message);
            if (message is TrainingFailed f)
            {
                Assert.Fail(f.Reason);
            }
            finished = message as TrainingFinished;
        }

        var changes = events.OfType<MembershipChanged>().ToList();
        Assert.Equal(2, changes.Count);                    // the start and the recovery
        Assert.True(changes[1].Epoch > changes[0].Epoch);
        Assert.Equal(3, changes[1].WorldSize);
        Assert.True(changes[1].StepDiscarded, changes[1].Reason);
        Assert.Contains("step 10", changes[1].Reason);

        // Every step is reported exactly once, in order: the failed attempt of step 10 was discarded and rerun.
        var steps = events.OfType<TrainingProgress>().Select(p => p.Step).ToList();
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (long)i), steps);
        Assert.Equal(4, factory.Created.Count);            // 3 devices + 1 restart
        AssertReplicasIdentical(factory.Live);
    }
}
