using GppfActors.Actors.Checkpointing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

/// <summary>
/// A write that dies at each point of the protocol (simulated in-process by a throwing injector)
/// leaves the previous committed checkpoint as the journal's latest, and loadable.
/// </summary>
public sealed class CheckpointCrashSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string PersistenceId = "checkpoint-crash-specs";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly TempDirectory _temp;
    private readonly string _checkpoints;

    public CheckpointCrashSpecs()
        : this(new TempDirectory())
    {
    }

    private CheckpointCrashSpecs(TempDirectory temp)
        : base(JournalDatabase.ConfigFor(Path.Combine(temp.Path, "journal.db")), "checkpoint-crash-specs")
    {
        _temp = temp;
        _checkpoints = temp.Combine("checkpoints");
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            SqliteConnection.ClearAllPools();
            _temp.Dispose();
        }
    }

    [Theory]
    [InlineData(CrashPoints.MidFileWrite)]
    [InlineData(CrashPoints.AfterFiles)]
    [InlineData(CrashPoints.AfterManifest)]
    [InlineData(CrashPoints.AfterRename)]
    public void Should_keep_the_previous_checkpoint_latest_and_loadable_when_a_write_crashes_at(string point)
    {
        var journal = Sys.ActorOf(CheckpointJournal.Props(PersistenceId));
        using var committedPayload = Payloads.Sample(10);
        var committed = new CheckpointWriter().Write(_checkpoints, committedPayload);
        journal.Tell(new CommitCheckpoint(committed), TestActor);
        ExpectMsg<CheckpointCommitted>(Timeout);

        using var crashing = Payloads.Sample(20);
        Assert.Throws<SimulatedCrashException>(() => new CheckpointWriter(new ThrowingCrashInjector(point)).Write(_checkpoints, crashing));

        journal.Tell(GetLatestCheckpoint.Instance, TestActor);
        var latest = ExpectMsg<LatestCheckpoint>(Timeout);
        Assert.Equal(committed, latest.Record);
        var warnings = new List<string>();
        var resolved = CheckpointResolver.LatestLoadable(latest.Committed, CheckpointReader.Load, warnings.Add);
        Assert.NotNull(resolved);
        using var payload = resolved.Payload;
        Payloads.AssertIdentical(committedPayload, payload);
        Assert.Empty(warnings);
    }
}
