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
using GppfActors.Model.Routing;
using GppfActors.Model.Schedules;
using Microsoft.Data.Sqlite;
using Xunit;

namespace GppfActors.Actors.Tests.Training;

/// <summary>
/// A journal that stops or never answers never leaves the coordinator believing a checkpoint is
/// still being written: commits time out and are retried, a stopped journal is started again by
/// its back-off supervisor, and a final checkpoint that cannot be committed fails the run.
/// </summary>
public sealed class JournalFailureSpecs : TestKit
{
    private static readonly SampledTask[] Tasks = [new("colour", 2.0, 256, 8), new("stripes", 1.0, 256, 8)];
    private readonly TempDirectory dir;
    private readonly CollectiveNode collectives = new();

    public JournalFailureSpecs()
        : this(new TempDirectory())
    {
    }

    private JournalFailureSpecs(TempDirectory dir)
        : base(JournalDatabase.ConfigFor(dir.Combine("journal.db")))
    {
        this.dir = dir;
    }

    private void Start(long maxSteps, IActorRef journal, double commitTimeout = 30)
    {
        var sampler = new TaskSamplerState(Tasks, 5, SamplingMode.Simt);
        var schedule = new ScheduleState(new CosineWarmupSchedule(0.05, 2, maxSteps), new TemperatureSchedule(5.0, 0.5, maxSteps));
        var settings = new CoordinatorSettings(maxSteps, 2, CheckpointEverySteps: 4, CollectiveTimeoutSeconds: 20,
            CheckpointRoot: dir.Combine("checkpoints"), ConfigJson: "{\"name\":\"toy\"}")
        { CommitTimeoutSeconds = commitTimeout, TickSeconds = 0.1 };
        var coordinator = Sys.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, TestActor, journal), ActorPaths.Coordinator);
        Sys.ActorOf(NodeAgent.Props(DeviceId.ParseList("cpu:2"), new ToyWorkloadFactory(new FaultPlan()), collectives, coordinator, RoutingMode.Soft, true, 9), ActorPaths.NodeAgent);
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

    [Fact]
    public void Should_retry_an_unanswered_commit_report_it_not_saved_and_fail_the_run_when_the_final_one_is_lost()
    {
        var silentJournal = CreateTestProbe();
        Start(8, silentJournal, commitTimeout: 0.5);

        // Step 4's commit is sent three times, then given up; training is not blocked meanwhile.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            Assert.Equal(4, silentJournal.ExpectMsg<CommitCheckpoint>(TimeSpan.FromSeconds(30)).Record.Step);
        }
        for (int attempt = 0; attempt < 3; attempt++)
        {
            Assert.Equal(8, silentJournal.ExpectMsg<CommitCheckpoint>(TimeSpan.FromSeconds(30)).Record.Step);
        }
        var events = UntilEnd();

        var notSaved = events.OfType<CheckpointNotSaved>().ToList();
        Assert.Contains(notSaved, n => n.Step == 4 && n.Reason.Contains("did not acknowledge", StringComparison.Ordinal));
        var failed = Assert.IsType<TrainingFailed>(events[^1]);
        Assert.Contains("the final checkpoint of step 8 was not saved", failed.Reason);
        Assert.Equal(8, events.OfType<TrainingProgress>().Count());
    }

    [Fact]
    public async Task Should_commit_again_once_the_stopped_journal_is_started_again_by_its_supervisor()
    {
        var journal = Sys.ActorOf(CheckpointJournal.SupervisedProps(CheckpointJournal.PersistenceIdFor("toy"), new RetentionPolicy(10, 0)),
            ActorPaths.CheckpointJournalSupervisor);
        Start(16, journal, commitTimeout: 2);
        var first = FishForMessage<CheckpointSaved>(_ => true, TimeSpan.FromSeconds(60));
        Assert.Equal(4, first.Record.Step);

        // The journal stops, as it does after a failed write; its supervisor starts it again.
        var store = await Sys.ActorSelection($"/user/{ActorPaths.CheckpointJournalSupervisor}/{ActorPaths.CheckpointJournal}").ResolveOne(TimeSpan.FromSeconds(5));
        var watcher = CreateTestProbe();
        watcher.Watch(store);
        store.Tell(PoisonPill.Instance);
        watcher.ExpectTerminated(store, TimeSpan.FromSeconds(10));

        var events = UntilEnd();

        // A commit sent while the journal was down got through on a retry; a checkpoint due while
        // one was pending was skipped, not lost track of; the final one is committed.
        Assert.IsType<TrainingFinished>(events[^1]);
        var saved = events.OfType<CheckpointSaved>().Select(c => c.Record.Step).ToList();
        Assert.Equal(16L, saved[^1]);
        Assert.All(events.OfType<CheckpointNotSaved>(), n => Assert.Contains("still being", n.Reason));
        var latest = await journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(saved.Prepend(4L).Reverse(), latest.Committed.Select(r => r.Step));
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
