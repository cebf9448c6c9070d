using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// The durable record of a run's checkpoints, a persistent actor and child of the training
/// coordinator: a checkpoint is committed when its <see cref="CheckpointCommitted"/> event is in the
/// journal, and "latest" is read from here, never from a mutable file. It also applies retention.
/// </summary>
/// <remarks>
/// Retention first journals that the old checkpoints are no longer committed, and only then removes
/// their directories on a background task: a crash in between leaves uncommitted directories, which
/// start-up hygiene removes, never a journal entry pointing at a deleted directory. A removal that
/// fails is logged and tried again after the next commit, never fatal. A failed journal write stops
/// this actor (Akka.Persistence's rule: its state may be behind the journal); its parent, a back-off
/// supervisor, starts it again and it recovers from the journal.
/// </remarks>
public sealed class CheckpointJournal : ReceivePersistentActor
{
    private readonly RetentionPolicy _retention;
    private readonly ICrashInjector _crashInjector;
    private readonly Action<string> _removeDirectory;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Metrics.NodeMetrics? _metrics = Metrics.NodeMetrics.Of(Context.System);
    private CheckpointJournalState _state = CheckpointJournalState.Empty;
    // At most one removal sweep at a time, so two sweeps never race to remove the same directory;
    // a commit during a sweep asks for one more sweep after it instead. Directories whose removal
    // failed are tried again with the next sweep.
    private bool _sweepInFlight;
    private bool _sweepAgain;
    private readonly List<CheckpointRecord> _leftovers = [];
    private readonly List<IActorRef> _quiesceWaiters = [];

    /// <summary>Use <see cref="Props"/>.</summary>
    public CheckpointJournal(string persistenceId, RetentionPolicy retention, ICrashInjector crashInjector, Action<string> removeDirectory, TimeProvider time)
    {
        PersistenceId = persistenceId;
        _retention = retention.Validate();
        _crashInjector = crashInjector;
        _removeDirectory = removeDirectory;
        _time = time;

        Recover<ICheckpointJournalEvent>(journalEvent => _state = _state.Apply(journalEvent));
        Recover<RecoveryCompleted>(_ => LogRecovered());
        Command<CommitCheckpoint>(Handle);
        Command<DiscardCheckpoint>(Handle);
        Command<RecordRunStarted>(Handle);
        Command<GetLatestCheckpoint>(_ => Sender.Tell(new LatestCheckpoint(_state.Latest, _state.CommittedNewestFirst, _state.FenceEpoch)));
        Command<RecordTakeover>(Handle);
        Command<GetRunHistory>(_ => Sender.Tell(new RunHistory(_state.Runs)));
        Command<RetentionSwept>(Handle);
        Command<Quiesce>(_ =>
        {
            _quiesceWaiters.Add(Sender);
            ReplyIfQuiet();
        });
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <summary>
    /// Props for the journal of the run whose persistence id is <paramref name="persistenceId"/>
    /// (see <see cref="PersistenceIdFor"/>). <paramref name="removeDirectory"/> replaces
    /// <see cref="CheckpointDirectories.Remove"/> in tests that watch or fail removals.
    /// </summary>
    public static Props Props(
        string persistenceId,
        RetentionPolicy? retention = null,
        ICrashInjector? crashInjector = null,
        Action<string>? removeDirectory = null,
        TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(persistenceId);
        var policy = (retention ?? RetentionPolicy.Default).Validate();
        var injector = crashInjector ?? NoCrashInjector.Instance;
        var remove = removeDirectory ?? CheckpointDirectories.Remove;
        var clock = time ?? TimeProvider.System;
        return Akka.Actor.Props.Create(() => new CheckpointJournal(persistenceId, policy, injector, remove, clock));
    }

    /// <summary>
    /// The journal under a back-off supervisor, as nodes run it: a failed write (disk full, a slow
    /// SQLite write past the circuit breaker) stops the journal, and it is started again after a
    /// growing pause (0.2 s to 10 s) and recovers its state from the database. Commands sent while
    /// it is down are lost, which is why commits are acknowledged, timed and retried by the sender.
    /// The child is named <see cref="ActorPaths.CheckpointJournal"/>.
    /// </summary>
    public static Props SupervisedProps(string persistenceId, RetentionPolicy? retention = null, ICrashInjector? crashInjector = null) =>
        Akka.Pattern.BackoffSupervisor.Props(Akka.Pattern.Backoff.OnStop(
            Props(persistenceId, retention, crashInjector),
            ActorPaths.CheckpointJournal,
            minBackoff: TimeSpan.FromMilliseconds(200),
            maxBackoff: TimeSpan.FromSeconds(10),
            randomFactor: 0.2,
            maxNrOfRetries: -1));

    /// <summary>The persistence id of run <paramref name="runName"/>'s journal: one event stream per run.</summary>
    public static string PersistenceIdFor(string runName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runName);
        return $"checkpoint-journal-{runName}";
    }

    private void Handle(CommitCheckpoint command)
    {
        var record = command.Record;
        switch (_state.DecideCommit(record))
        {
            case CommitDecision.Persist:
                var clock = System.Diagnostics.Stopwatch.StartNew();
                Persist(new CheckpointCommitted(record), committed =>
                {
                    _metrics?.JournalCommitted(clock.Elapsed.TotalSeconds);
                    _state = _state.Apply(committed);
                    // Only now, with the event in the journal, is the checkpoint durable; the sender
                    // may rely on it (and let older state go) from this reply on.
                    Sender.Tell(committed);
                    _log.Info("Committed checkpoint of step {0} (epoch {1}) at {2}", record.Step, record.Epoch, record.Directory);
                    SweepRetention();
                });
                break;
            case CommitDecision.AlreadyCommitted:
                Sender.Tell(new CheckpointCommitted(_state.Find(record.Step)!));
                break;
            case CommitDecision.Reject reject:
                _log.Warning("Refused to commit the checkpoint of step {0}: {1}", record.Step, reject.Reason);
                Sender.Tell(new CommitCheckpointFailed(record.Step, reject.Reason));
                break;
        }
    }

    private void Handle(DiscardCheckpoint command)
    {
        if (!_state.IsCommitted(command.Step))
        {
            // Already gone (a retried command, or removed by retention): the outcome asked for holds.
            Sender.Tell(new CheckpointDiscarded(command.Step, command.Reason));
            return;
        }
        Persist(new CheckpointDiscarded(command.Step, command.Reason), discarded =>
        {
            _state = _state.Apply(discarded);
            _log.Warning("Discarded the checkpoint of step {0}: {1}", discarded.Step, discarded.Reason);
            Sender.Tell(discarded);
        });
    }

    private void Handle(RecordTakeover command)
    {
        if (_state.LastTakeover is { } last && last.Epoch == command.Epoch && last.Node == command.Node)
        {
            Sender.Tell(last);   // a retry
            return;
        }
        if (_state.RefuseTakeover(command.Epoch) is { } reason)
        {
            _log.Warning("Refused the takeover of the coordinator on {0} with epoch {1}: {2}", command.Node, command.Epoch, reason);
            Sender.Tell(new TakeoverRefused(command.Epoch, reason));
            return;
        }
        Persist(new CoordinatorTookOver(command.Epoch, command.Node, command.Step, _time.GetUtcNow().UtcDateTime), tookOver =>
        {
            _state = _state.Apply(tookOver);
            _log.Info("The coordinator on {0} took over at step {1}; commits of epochs below {2} are refused from now on", tookOver.Node, tookOver.Step, tookOver.Epoch);
            Sender.Tell(tookOver);
        });
    }

    private void Handle(RecordRunStarted command)
    {
        Persist(new RunStarted(command.RunName, command.ConfigSha256, _time.GetUtcNow().UtcDateTime), started =>
        {
            _state = _state.Apply(started);
            Sender.Tell(started);
        });
    }

    private void Handle(RetentionSwept swept)
    {
        _sweepInFlight = false;
        foreach (var failure in swept.Failures)
        {
            _log.Warning("Retention could not remove a checkpoint directory (tried again after the next commit; start-up hygiene removes it otherwise): {0}", failure.Reason);
            _leftovers.Add(failure.Record);
        }
        if (swept.DeletedSteps.Count > 0)
        {
            _log.Info("Retention removed the directories of steps {0}", string.Join(", ", swept.DeletedSteps));
        }
        ContinueOrQuiesce();
    }

    private void ContinueOrQuiesce()
    {
        if (_sweepAgain)
        {
            // Once per commit that arrived during the sweep, so a removal that keeps failing is
            // retried per commit, not in a tight loop.
            _sweepAgain = false;
            SweepRetention();
            return;
        }
        ReplyIfQuiet();
    }

    private void SweepRetention()
    {
        if (_sweepInFlight)
        {
            _sweepAgain = true;
            return;
        }
        var doomed = _state.DecideRetention(_retention);
        if (doomed.Count == 0)
        {
            RemoveDirectories([]);
            return;
        }
        _sweepInFlight = true;
        Persist(new CheckpointsDeleted(doomed.Select(r => r.Step).ToList()), deleted =>
        {
            _state = _state.Apply(deleted);
            _sweepInFlight = false;
            RemoveDirectories(doomed);
        });
    }

    // The checkpoints are no longer committed; now their directories go, with any left from before.
    private void RemoveDirectories(IReadOnlyList<CheckpointRecord> doomed)
    {
        var all = doomed.Concat(_leftovers).ToList();
        _leftovers.Clear();
        if (all.Count == 0)
        {
            ContinueOrQuiesce();
            return;
        }
        _sweepInFlight = true;
        // Locals only: the task runs off the actor's thread and must not touch its fields.
        var remove = _removeDirectory;
        var injector = _crashInjector;
        Task.Run(() => Sweep(all, remove, injector)).PipeTo(
            Self,
            success: swept => swept,
            failure: exception => new RetentionSwept([], all.Select(r => new RetentionFailure(r, $"retention sweep failed: {exception.Message}")).ToList()));
    }

    private static RetentionSwept Sweep(IReadOnlyList<CheckpointRecord> doomed, Action<string> remove, ICrashInjector injector)
    {
        var deleted = new List<long>();
        var failures = new List<RetentionFailure>();
        foreach (var record in doomed)
        {
            try
            {
                remove(record.Directory);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                failures.Add(new RetentionFailure(record, $"step {record.Step} at '{record.Directory}': {exception.Message}"));
                continue;
            }
            deleted.Add(record.Step);
            injector.Hit(CrashPoints.DuringCleanup, record.Step);
        }
        return new RetentionSwept(deleted, failures);
    }

    // Quiesce waiters hear back once no journal write or directory removal is under way, so a
    // process that ends right after its last commit leaves no half-done retention behind.
    private void ReplyIfQuiet()
    {
        if (_sweepInFlight || _sweepAgain || _quiesceWaiters.Count == 0)
        {
            return;
        }
        foreach (var waiter in _quiesceWaiters)
        {
            waiter.Tell(Quiesced.Instance);
        }
        _quiesceWaiters.Clear();
    }

    private void LogRecovered()
    {
        if (_state.Latest is { } latest)
        {
            _log.Info("Recovered checkpoint journal {0}: latest step {1} at {2}, {3} committed", PersistenceId, latest.Step, latest.Directory, _state.CommittedNewestFirst.Count);
        }
        else
        {
            _log.Info("Recovered checkpoint journal {0}: no checkpoint committed yet", PersistenceId);
        }
    }
}
