using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using GppfActors.Actors.Checkpointing;
using GppfActors.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

/// <summary>The journal's specs on its SQLite file (one machine).</summary>
public sealed class SqliteCheckpointJournalSpecs() : CheckpointJournalSpecs(new SqliteJournalBackend());

/// <summary>The same specs on a real PostgreSQL server (several machines share the journal).</summary>
public sealed class PostgreSqlCheckpointJournalSpecs() : CheckpointJournalSpecs(new PostgreSqlJournalBackend());

/// <summary>Where a journal spec's events are stored, and a way to count them that bypasses the actor.</summary>
public interface IJournalBackend : IDisposable
{
    /// <summary>The project's base config with the checkpoint journal on this backend.</summary>
    Config Config { get; }

    /// <summary>How many events of <paramref name="persistenceId"/> are stored, read through a connection of its own.</summary>
    long CountEvents(string persistenceId);
}

public sealed class SqliteJournalBackend : IJournalBackend
{
    private readonly TempDirectory temp = new();

    public Config Config => JournalDatabase.ConfigFor(temp.Combine("journal.db"));

    public long CountEvents(string persistenceId) => JournalDatabase.CountEvents(temp.Combine("journal.db"), persistenceId);

    public void Dispose()
    {
        // Pooled connections keep the file open; close them before the directory goes.
        SqliteConnection.ClearAllPools();
        temp.Dispose();
    }
}

public sealed class PostgreSqlJournalBackend : IJournalBackend
{
    private readonly string connectionString = PostgresServer.Shared.CreateDatabase();

    public Config Config => CheckpointJournalConfig.PostgreSql(connectionString).WithFallback(ActorSystemConfig.Base);

    public long CountEvents(string persistenceId)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // Akka.Persistence.Sql's default table mapping: table "journal", column "persistence_id".
        command.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = @id";
        command.Parameters.AddWithValue("id", persistenceId);
        return (long)command.ExecuteScalar()!;
    }

    public void Dispose() => NpgsqlConnection.ClearAllPools();
}

public abstract class CheckpointJournalSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string PersistenceId = "checkpoint-journal-specs";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly IJournalBackend _backend;
    private readonly TempDirectory _temp = new();
    private readonly string _checkpoints;

    protected CheckpointJournalSpecs(IJournalBackend backend)
        : base(backend.Config, "checkpoint-journal-specs")
    {
        _backend = backend;
        _checkpoints = Directory.CreateDirectory(_temp.Combine("checkpoints")).FullName;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _backend.Dispose();
            _temp.Dispose();
        }
    }

    private IActorRef Journal(RetentionPolicy? retention = null, Action<string>? removeDirectory = null) =>
        Sys.ActorOf(CheckpointJournal.Props(PersistenceId, retention ?? new RetentionPolicy(100, 0), removeDirectory: removeDirectory));

    // A directory standing in for a written checkpoint: the journal never reads inside it.
    private CheckpointRecord Checkpoint(long step, char hashDigit = 'a')
    {
        var record = Records.At(step, root: _checkpoints, hashDigit: hashDigit);
        Directory.CreateDirectory(record.Directory);
        File.WriteAllText(Path.Combine(record.Directory, CheckpointLayout.ManifestFile), "{}");
        return record;
    }

    private CheckpointCommitted Commit(IActorRef journal, CheckpointRecord record)
    {
        journal.Tell(new CommitCheckpoint(record), TestActor);
        return ExpectMsg<CheckpointCommitted>(Timeout);
    }

    private LatestCheckpoint Latest(IActorRef journal)
    {
        journal.Tell(GetLatestCheckpoint.Instance, TestActor);
        return ExpectMsg<LatestCheckpoint>(Timeout);
    }

    private static IEnumerable<long> Steps(LatestCheckpoint latest) => latest.Committed.Select(record => record.Step);

    [Fact]
    public void Should_acknowledge_a_commit_only_once_its_event_is_in_the_database()
    {
        var journal = Journal();
        var record = Checkpoint(10);

        var ack = Commit(journal, record);

        Assert.Equal(record, ack.Record);
        // Read through a separate connection: the event is stored by the time the ack arrives.
        Assert.Equal(1, _backend.CountEvents(PersistenceId));
        Assert.Equal(record, Latest(journal).Record);
    }

    [Fact]
    public async Task Should_recover_the_latest_checkpoint_when_a_new_actor_system_opens_the_same_database()
    {
        var first = ActorSystem.Create("first-run", _backend.Config);
        var journal = first.ActorOf(CheckpointJournal.Props(PersistenceId));
        await journal.Ask<RunStarted>(new RecordRunStarted("unit", new string('c', 64)), Timeout);
        await journal.Ask<CheckpointCommitted>(new CommitCheckpoint(Checkpoint(10)), Timeout);
        await journal.Ask<CheckpointCommitted>(new CommitCheckpoint(Checkpoint(20)), Timeout);
        await first.Terminate().WaitAsync(Timeout);
        first.Dispose();

        var recovered = Sys.ActorOf(CheckpointJournal.Props(PersistenceId));

        var latest = Latest(recovered);
        Assert.Equal(Records.At(20, root: _checkpoints), latest.Record);
        Assert.Equal([20L, 10L], Steps(latest));
        recovered.Tell(GetRunHistory.Instance, TestActor);
        Assert.Equal("unit", Assert.Single(ExpectMsg<RunHistory>(Timeout).Runs).RunName);
    }

    [Fact]
    public void Should_acknowledge_again_without_a_second_event_when_the_same_checkpoint_is_committed_twice()
    {
        var journal = Journal();
        var record = Checkpoint(10);

        Commit(journal, record);
        var second = Commit(journal, record);

        Assert.Equal(record, second.Record);
        Assert.Equal(1, _backend.CountEvents(PersistenceId));
    }

    [Fact]
    public void Should_refuse_a_commit_whose_step_is_older_than_the_latest()
    {
        var journal = Journal();
        Commit(journal, Checkpoint(20));

        journal.Tell(new CommitCheckpoint(Checkpoint(10)), TestActor);

        var failed = ExpectMsg<CommitCheckpointFailed>(Timeout);
        Assert.Equal(10, failed.Step);
        Assert.Contains("older than the latest committed step 20", failed.Reason);
        Assert.Equal(1, _backend.CountEvents(PersistenceId));
    }

    [Fact]
    public void Should_refuse_a_commit_from_a_superseded_epoch()
    {
        var journal = Journal();
        Commit(journal, Records.At(20, epoch: 4, root: _checkpoints));

        // A coordinator of epoch 3, cut off while epoch 4 went on, tries to commit a later step.
        journal.Tell(new CommitCheckpoint(Records.At(24, epoch: 3, root: _checkpoints)), TestActor);

        var failed = ExpectMsg<CommitCheckpointFailed>(Timeout);
        Assert.Contains("epoch 3 is older than the latest committed epoch 4", failed.Reason);
        Assert.Equal(1, _backend.CountEvents(PersistenceId));
        Assert.Equal(20, Latest(journal).Record!.Step);
    }

    [Fact]
    public void Should_refuse_the_superseded_coordinators_commits_once_a_takeover_is_journaled()
    {
        // The lost coordinator's journal and the new coordinator's share the database.
        var superseded = Sys.ActorOf(CheckpointJournal.SupervisedProps(PersistenceId, new RetentionPolicy(100, 0)), "superseded-journal");
        superseded.Tell(new CommitCheckpoint(Records.At(10, epoch: 3, root: _checkpoints)), TestActor);
        ExpectMsg<CheckpointCommitted>(Timeout);

        var current = Journal();
        current.Tell(new RecordTakeover(5, "akka.tcp://gppf@10.0.0.2:4053", 12), TestActor);
        var tookOver = ExpectMsg<CoordinatorTookOver>(Timeout);
        Assert.Equal(5, tookOver.Epoch);
        Assert.Equal(5, Latest(current).TakeoverEpoch);

        // The cut-off coordinator (epoch 3) tries to commit a later step: its journal's state is
        // behind the database; whichever way its write goes, the commit is never kept.
        var late = Records.At(15, epoch: 3, root: _checkpoints);
        var outcome = CommitUntilAnswered(superseded, late);
        var refused = Assert.IsType<CommitCheckpointFailed>(outcome);
        Assert.Contains("epoch 3 is older than epoch 5, from which the coordinator on akka.tcp://gppf@10.0.0.2:4053 took over at step 12", refused.Reason);
        Assert.Equal(10, Latest(current).Record!.Step);
        Assert.Equal(2, _backend.CountEvents(PersistenceId));

        // A takeover that is not newer is refused too; the new coordinator's own epochs commit.
        current.Tell(new RecordTakeover(4, "akka.tcp://gppf@10.0.0.3:4053", 12), TestActor);
        Assert.Contains("took over with epoch 5", ExpectMsg<TakeoverRefused>(Timeout).Reason);
        Commit(current, Records.At(15, epoch: 5, root: _checkpoints));
        Assert.Equal(15, Latest(Journal()).Record!.Step);
    }

    // A journal whose write failed restarts and recovers; a command sent meanwhile is lost, so the
    // sender asks again, as the coordinator does.
    private object CommitUntilAnswered(IActorRef journal, CheckpointRecord record)
    {
        for (int attempt = 0; attempt < 10; attempt++)
        {
            journal.Tell(new CommitCheckpoint(record), TestActor);
            var answer = ReceiveOne(TimeSpan.FromSeconds(3));
            if (answer is not null)
            {
                return answer;
            }
        }
        throw new TimeoutException("the journal never answered the commit");
    }

    [Fact]
    public void Should_accept_the_step_again_when_its_bad_checkpoint_was_discarded()
    {
        var journal = Journal();
        Commit(journal, Checkpoint(10));
        Commit(journal, Checkpoint(20));

        journal.Tell(new DiscardCheckpoint(20, "hash mismatch in model.safetensors"), TestActor);
        ExpectMsg<CheckpointDiscarded>(Timeout);

        Assert.Equal(10, Latest(journal).Record!.Step);
        var again = Records.At(20, root: _checkpoints, hashDigit: 'b');
        Assert.Equal(again, Commit(journal, again).Record);
    }

    [Fact]
    public void Should_keep_the_last_K_and_every_Mth_checkpoint_when_retention_runs()
    {
        var journal = Journal(new RetentionPolicy(NumLatestKept: 2, KeepEverySteps: 4));

        foreach (var step in new long[] { 2, 4, 6, 8, 10 })
        {
            Commit(journal, Checkpoint(step));
        }

        AwaitAssert(() => Assert.Equal([10L, 8L, 4L], Steps(Latest(journal))), Timeout);
        journal.Tell(Quiesce.Instance, TestActor);
        ExpectMsg<Quiesced>(Timeout);
        Assert.False(Directory.Exists(Records.At(2, root: _checkpoints).Directory));
        Assert.False(Directory.Exists(Records.At(6, root: _checkpoints).Directory));
        Assert.All(new long[] { 4, 8, 10 }, step => Assert.True(Directory.Exists(Records.At(step, root: _checkpoints).Directory)));
        Assert.Empty(Directory.GetDirectories(_checkpoints, "*" + CheckpointLayout.DeletingSuffix));
    }

    [Fact]
    public void Should_remove_an_old_directory_only_after_the_newer_commit_and_its_retirement_are_in_the_journal()
    {
        var removals = new ConcurrentQueue<(string Directory, bool Existed, long EventsInFile)>();
        var journal = Journal(new RetentionPolicy(1, 0), directory =>
        {
            removals.Enqueue((directory, Directory.Exists(directory), _backend.CountEvents(PersistenceId)));
            CheckpointDirectories.Remove(directory);
        });
        var older = Checkpoint(1);

        Commit(journal, older);
        Assert.Empty(removals);
        Assert.True(Directory.Exists(older.Directory));

        Commit(journal, Checkpoint(2));

        AwaitCondition(() => !removals.IsEmpty, Timeout);
        var removal = Assert.Single(removals);
        Assert.Equal(older.Directory, removal.Directory);
        Assert.True(removal.Existed);
        // Both commits and the retirement of the older one were durable before its directory was
        // touched: a crash during the removal leaves an uncommitted directory, never a journal entry
        // that points at a deleted one.
        Assert.Equal(3, removal.EventsInFile);
        AwaitAssert(() => Assert.Equal([2L], Steps(Latest(journal))), Timeout);
        Assert.False(Directory.Exists(older.Directory));
    }

    [Fact]
    public void Should_retry_a_failed_removal_after_the_next_commit_without_failing_the_journal()
    {
        var attempts = new ConcurrentQueue<string>();
        var failuresLeft = 1;
        var journal = Journal(new RetentionPolicy(1, 0), directory =>
        {
            attempts.Enqueue(directory);
            if (Interlocked.Exchange(ref failuresLeft, 0) == 1)
            {
                throw new IOException("device or resource busy");
            }
            CheckpointDirectories.Remove(directory);
        });
        var first = Checkpoint(1);
        Commit(journal, first);

        EventFilter.Warning(contains: "device or resource busy").ExpectOne(Timeout, () => Commit(journal, Checkpoint(2)));

        Assert.Equal([2L], Steps(Latest(journal)));
        Assert.True(Directory.Exists(first.Directory));

        Commit(journal, Checkpoint(3));

        AwaitAssert(() => Assert.Equal([3L], Steps(Latest(journal))), Timeout);
        journal.Tell(Quiesce.Instance, TestActor);
        ExpectMsg<Quiesced>(Timeout);
        Assert.False(Directory.Exists(first.Directory));
        Assert.Equal(2, attempts.Count(directory => directory == first.Directory));
    }

    [Fact]
    public void Should_answer_quiesce_only_once_the_removal_under_way_has_finished()
    {
        using var removing = new ManualResetEventSlim(false);
        using var release = new ManualResetEventSlim(false);
        var journal = Journal(new RetentionPolicy(1, 0), directory =>
        {
            removing.Set();
            release.Wait(Timeout);
            CheckpointDirectories.Remove(directory);
        });
        var first = Checkpoint(1);
        Commit(journal, first);
        Commit(journal, Checkpoint(2));
        Assert.True(removing.Wait(Timeout));

        journal.Tell(Quiesce.Instance, TestActor);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        release.Set();

        ExpectMsg<Quiesced>(Timeout);
        Assert.False(Directory.Exists(first.Directory));
    }

    [Fact]
    public void Should_reply_with_the_event_when_a_run_start_is_recorded()
    {
        var journal = Journal();

        journal.Tell(new RecordRunStarted("unit", new string('d', 64)), TestActor);

        var started = ExpectMsg<RunStarted>(Timeout);
        Assert.Equal("unit", started.RunName);
        Assert.Equal(1, _backend.CountEvents(PersistenceId));
    }
}
