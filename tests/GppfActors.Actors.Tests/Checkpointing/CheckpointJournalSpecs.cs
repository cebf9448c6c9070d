using System.Collections.Concurrent;
using Akka.Actor;
using GppfActors.Actors.Checkpointing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public sealed class CheckpointJournalSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string PersistenceId = "checkpoint-journal-specs";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly TempDirectory _temp;
    private readonly string _dbPath;
    private readonly string _checkpoints;

    public CheckpointJournalSpecs()
        : this(new TempDirectory())
    {
    }

    private CheckpointJournalSpecs(TempDirectory temp)
        : base(JournalDatabase.ConfigFor(Path.Combine(temp.Path, "journal.db")), "checkpoint-journal-specs")
    {
        _temp = temp;
        _dbPath = temp.Combine("journal.db");
        _checkpoints = Directory.CreateDirectory(temp.Combine("checkpoints")).FullName;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            // Pooled connections keep the file open; close them before the directory goes.
            SqliteConnection.ClearAllPools();
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
    public void Should_acknowledge_a_commit_only_once_its_event_is_in_the_sqlite_file()
    {
        var journal = Journal();
        var record = Checkpoint(10);

        var ack = Commit(journal, record);

        Assert.Equal(record, ack.Record);
        // Read through a separate connection: the event is in the file by the time the ack arrives.
        Assert.Equal(1, JournalDatabase.CountEvents(_dbPath, PersistenceId));
        Assert.Equal(record, Latest(journal).Record);
    }

    [Fact]
    public async Task Should_recover_the_latest_checkpoint_when_a_new_actor_system_opens_the_same_file()
    {
        var first = ActorSystem.Create("first-run", JournalDatabase.ConfigFor(_dbPath));
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
        Assert.Equal(1, JournalDatabase.CountEvents(_dbPath, PersistenceId));
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
        Assert.Equal(1, JournalDatabase.CountEvents(_dbPath, PersistenceId));
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
            removals.Enqueue((directory, Directory.Exists(directory), JournalDatabase.CountEvents(_dbPath, PersistenceId)));
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
        Assert.Equal(1, JournalDatabase.CountEvents(_dbPath, PersistenceId));
    }
}
