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
using static TorchSharp.torch;

namespace GppfActors.Actors.Tests.Training;

/// <summary>Background checkpoints committed through the SQLite journal, retention, and an exact resume on a new actor system.</summary>
public sealed class CheckpointedTrainingSpecs : TestKit, IDisposable
{
    private static readonly SampledTask[] Tasks = [new("colour", 2.0, 256, 8), new("stripes", 1.0, 256, 8)];
    private readonly TempDirectory dir = new();

    private sealed record Outcome(List<object> Events, Dictionary<string, Tensor> State);

    // With holdAfterFirstCheckpoint, a device waits at the start of step 6 until checkpoint 4 is
    // committed, so a slow disk cannot make checkpoint 8 meet checkpoint 4 still being written
    // (which is refused by design: one checkpoint at a time).
    private Outcome Run(long maxSteps, CheckpointPayload? resume, RetentionPolicy retention, bool holdAfterFirstCheckpoint = false)
    {
        using var collectives = new CollectiveNode();
        using var system = ActorSystem.Create("job", JournalDatabase.ConfigFor(dir.Combine("journal.db")));
        var probe = CreateTestProbe(system);
        var sampler = new TaskSamplerState(Tasks, 5, SamplingMode.Simt);
        var schedule = new ScheduleState(new CosineWarmupSchedule(0.05, 4, 16), new TemperatureSchedule(5.0, 0.5, 16));
        if (resume is not null)
        {
            sampler.LoadJson(resume.SamplerStateJson);
            schedule.LoadJson(resume.ScheduleStateJson);
        }
        var journal = system.ActorOf(CheckpointJournal.Props(CheckpointJournal.PersistenceIdFor("toy"), retention), ActorPaths.CheckpointJournal);
        var settings = new CoordinatorSettings(maxSteps, 3, CheckpointEverySteps: 4, CollectiveTimeoutSeconds: 20,
            StartStep: resume?.Step ?? 0, CheckpointRoot: dir.Combine("checkpoints"), ConfigJson: "{\"job\":\"toy\"}");
        var coordinator = system.ActorOf(TrainingCoordinator.Props(settings, sampler, schedule, probe, journal), ActorPaths.Coordinator);
        var faults = holdAfterFirstCheckpoint ? new FaultPlan { Hang = (1, 6) } : new FaultPlan();
        var factory = new ToyWorkloadFactory(faults, resumeFrom: resume);
        system.ActorOf(NodeAgent.Props(DeviceId.ParseList("cpu:3"), factory, collectives, coordinator, RoutingMode.Soft, true, 9), ActorPaths.NodeAgent);

        var events = new List<object>();
        while (events.LastOrDefault() is not TrainingFinished)
        {
            var message = probe.ExpectMsg<object>(TimeSpan.FromSeconds(60));
            Assert.False(message is TrainingFailed, (message as TrainingFailed)?.Reason);
            events.Add(message);
            if (message is CheckpointSaved { Record.Step: 4 })
            {
                faults.Release();
            }
        }
        var state = factory.Live[0].Replica.Network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());
        // Retention removes directories after the last commit; wait for it before anyone lists them.
        journal.Ask<Quiesced>(Quiesce.Instance, TimeSpan.FromSeconds(10)).Wait();
        var latest = journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, TimeSpan.FromSeconds(10)).Result;
        events.Add(latest);
        system.Terminate().Wait(TimeSpan.FromSeconds(10));
        return new Outcome(events, state);
    }

    [Fact]
    public void Should_commit_checkpoints_in_the_background_and_keep_only_the_newest_two()
    {
        var outcome = Run(12, null, new RetentionPolicy(2, 0), holdAfterFirstCheckpoint: true);
        var saved = outcome.Events.OfType<CheckpointSaved>().Select(s => s.Record.Step).ToList();
        Assert.Equal([4L, 8L, 12L], saved);
        var latest = outcome.Events.OfType<LatestCheckpoint>().Single();
        Assert.Equal(12, latest.Record!.Step);
        var left = Directory.GetDirectories(dir.Combine("checkpoints")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["step-00000008", "step-00000012"], left);
        using var payload = CheckpointReader.Load(latest.Record.Directory, latest.Record.ManifestSha256);
        Assert.Equal(12, payload.Step);
        Assert.Equal("{\"job\":\"toy\"}", payload.ConfigJson);
    }

    [Fact]
    public void Should_end_with_bit_identical_parameters_when_resumed_halfway_on_a_new_actor_system()
    {
        var straight = Run(16, null, new RetentionPolicy(10, 0)).State;
        SqliteConnection.ClearAllPools();
        Directory.Delete(dir.Combine("checkpoints"), true);
        File.Delete(dir.Combine("journal.db"));

        var firstHalf = Run(8, null, new RetentionPolicy(10, 0));
        var latest = firstHalf.Events.OfType<LatestCheckpoint>().Single().Record!;
        Assert.Equal(8, latest.Step);
        using var payload = CheckpointReader.Load(latest.Directory, latest.ManifestSha256);
        var resumed = Run(16, payload, new RetentionPolicy(10, 0));

        var steps = resumed.Events.OfType<TrainingProgress>().Select(p => p.Step).ToList();
        Assert.Equal(Enumerable.Range(8, 8).Select(i => (long)i), steps);
        Assert.Equal(straight.Keys.Order(), resumed.State.Keys.Order());
        foreach (var (key, value) in straight)
        {
            Assert.True(Payloads.BytesOf(value).SequenceEqual(Payloads.BytesOf(resumed.State[key])), $"{key} differs after resume");
        }
    }

    void IDisposable.Dispose()
    {
        SqliteConnection.ClearAllPools();
        dir.Dispose();
        base.Dispose();
    }
}
