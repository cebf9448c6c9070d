using Akka.Actor;
using Akka.TestKit.Xunit2;
using GppfActors.Actors.Checkpointing;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Devices;
using GppfActors.Actors.Node;
using GppfActors.Actors.Sampling;
using GppfActors.Actors.Schedule;
using GppfActors.Actors.Tests.Checkpointing;
using GppfActors.Collectives;
using GppfActors.Model.Checkpoints;
using GppfActors.Model.Routing;
using GppfActors.Model.Schedules;
using GppfActors.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace GppfActors.Actors.Tests.Training;

/// <summary>
/// A step whose loss is NaN on one device is skipped on every replica, counted and reported;
/// too many in a row end the run, and nothing non-finite is ever applied or checkpointed.
/// </summary>
public sealed class NonFiniteTrainingSpecs : TestKit
{
    private static readonly SampledTask[] Tasks = [new("colour", 2.0, 256, 8), new("stripes", 1.0, 256, 8)];
    private readonly TempDirectory dir;
    private readonly CollectiveNode collectives = new();

    public NonFiniteTrainingSpecs()
        : this(new TempDirectory())
    {
    }

    private NonFiniteTrainingSpecs(TempDirectory dir)
        : base(JournalDatabase.ConfigFor(dir.Combine("journal.db")))
    {
        this.dir = dir;
    }

    private (ToyWorkloadFactory Factory, IActorRef Journal) Start(long maxSteps, FaultPlan faults, int maxNonFinite)
    {
        var system = Sys;
        var sampler = new TaskSamplerState(Tasks, 5, SamplingMode.Simt);
        var schedule = new ScheduleState(new CosineWarmupSchedule(0.05, 2, maxSteps), new TemperatureSchedule(5.0, 0.5, maxSteps));
        var journal = system.ActorOf(CheckpointJournal.Props(CheckpointJournal.PersistenceIdFor("toy"), new RetentionPolicy(1, 0)));
        var settings = new CoordinatorSettings(maxSteps, 2, CheckpointEverySteps: 4, CollectiveTimeoutSeconds: 20,
            CheckpointRoot: dir.Combine("checkpoints"), ConfigJson: "{\"name\":\"toy\"}")
        { MaxNonFiniteSteps = maxNonFinite, TickSeconds = 0.1 };
        var coordinator = system.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, TestActor, journal), ActorPaths.Coordinator);
        var factory = new ToyWorkloadFactory(faults);
        system.ActorOf(NodeAgent.Props(DeviceId.ParseList("cpu:2"), factory, collectives, coordinator, RoutingMode.Soft, true, 9), ActorPaths.NodeAgent);
        return (factory, journal);
    }

    private List<object> UntilEnd()
    {
        var events = new List<object>();
        while (events.LastOrDefault() is not (TrainingFinished or TrainingFailed))
        {
            events.Add(ExpectMsg<object>(TimeSpan.FromSeconds(60)));
        }
        return events;
    }

    // Device 1 (not the writer) holds at step 5 until checkpoint 4 is committed, so the capture of boundary 8 is never
    // refused because a commit is still in flight (one capture runs at a time; toy steps are fast).
    private List<object> UntilCommitted(long checkpoint, FaultPlan faults)
    {
        var events = new List<object>();
        while (events.LastOrDefault() is not CheckpointSaved saved || saved.Record.Step != checkpoint)
        {
            events.Add(ExpectMsg<object>(TimeSpan.FromSeconds(60)));
        }
        faults.Release();
        return events;
    }

    [Fact]
    public void Should_skip_a_non_finite_step_on_every_replica_and_go_on()
    {
        var faults = new FaultPlan { NonFinite = new HashSet<(int, long)> { (1, 5) }, Hang = (1, 5) };
        var (factory, _) = Start(10, faults, maxNonFinite: 3);

        var events = UntilCommitted(4, faults);
        events.AddRange(UntilEnd());

        Assert.IsType<TrainingFinished>(events[^1]);
        var skipped = Assert.Single(events.OfType<StepSkipped>());
        Assert.Equal(5, skipped.Step);
        Assert.Equal(1, skipped.TotalSkipped);
        // Step 5 is not reported as progress; every other step is, once.
        Assert.Equal(Enumerable.Range(0, 10).Where(s => s != 5).Select(s => (long)s), events.OfType<TrainingProgress>().Select(p => p.Step));
        var states = factory.Live.Select(w => w.Replica.Network.state_dict()).ToList();
        StateAssert.BytesEqual(states[0], states[1], "replicas after a skipped step");
        Assert.Empty(FiniteCheck.NonFiniteKeys(states[0]));
        Assert.Equal([4L, 8L, 10L], events.OfType<CheckpointSaved>().Select(c => c.Record.Step));
    }

    [Fact]
    public async Task Should_stop_after_too_many_non_finite_steps_in_a_row_and_keep_the_last_good_checkpoint()
    {
        var faults = new FaultPlan { NonFinite = new HashSet<(int, long)> { (0, 6), (0, 7), (1, 8) }, Hang = (1, 5) };
        var (factory, journal) = Start(20, faults, maxNonFinite: 3);

        var events = UntilCommitted(4, faults);
        events.AddRange(UntilEnd());

        var failed = Assert.IsType<TrainingFailed>(events[^1]);
        Assert.Contains("3 steps in a row (train.max_nonfinite_steps) had non-finite loss or gradients, the last at step 8", failed.Reason);
        Assert.Equal([6L, 7L, 8L], events.OfType<StepSkipped>().Select(s => s.Step));
        // Boundary 8 (before the third skipped step) holds the state of step 5: finite, and committed.
        Assert.Equal([4L, 8L], events.OfType<CheckpointSaved>().Select(c => c.Record.Step));
        var latest = await journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, TimeSpan.FromSeconds(10));
        using var payload = CheckpointResolver.LoadVerified(latest.Record!);
        Assert.Empty(FiniteCheck.NonFiniteKeys(payload.ModelState));
        Assert.Empty(FiniteCheck.NonFiniteKeys(factory.Live[0].Replica.Network.state_dict()));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            collectives.Dispose();
            SqliteConnection.ClearAllPools();
            dir.Dispose();
        }
    }
}
