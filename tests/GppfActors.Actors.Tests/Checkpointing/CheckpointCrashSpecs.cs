using Akka.Actor;
using GppfActors.Actors.Checkpointing;
using Microsoft.Data.Sqlite;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Actors.Tests.Checkpointing;

/// <summary>
/// A real process that writes and commits checkpoints through the SQLite journal is killed with
/// SIGKILL at each point of the protocol; what it leaves on disk and in the journal is then read
/// back here: the newest acknowledged checkpoint is the journal's latest, loads and verifies
/// against the journaled manifest hash, holds exactly its step's bytes, and hygiene lists only
/// the leftover of the write that died.
/// </summary>
public sealed class CheckpointCrashSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const int KilledBySigkill = 137;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly TempDirectory _temp;

    public CheckpointCrashSpecs()
        : this(new TempDirectory())
    {
    }

    private CheckpointCrashSpecs(TempDirectory temp)
        : base(ActorSystemConfig.Base, "checkpoint-crash-specs")
    {
        _temp = temp;
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
    [InlineData(CrashPoints.MidFileWrite, 2, "step-00000003.tmp")]
    [InlineData(CrashPoints.AfterFiles, 2, "step-00000003.tmp")]
    [InlineData(CrashPoints.AfterManifest, 2, "step-00000003.tmp")]
    [InlineData(CrashPoints.AfterRename, 2, "step-00000003")]
    [InlineData(CrashPoints.AfterJournal, 3, null)]
    public async Task Should_keep_every_acknowledged_checkpoint_loadable_when_the_process_is_killed_at(string point, long expectedLatest, string? leftover)
    {
        var root = _temp.Combine("checkpoints");
        var db = _temp.Combine("journal.db");
        var result = await CrashHelperProcess.RunAsync(root, numSteps: 5, crashAt: $"{point}@3", TimeSpan.FromSeconds(90), journal: db);

        Assert.True(result.ExitCode == KilledBySigkill, $"exit code {result.ExitCode}; stdout: {result.StandardOutput}; stderr: {result.StandardError}");
        Assert.Contains($"killing process", result.StandardError);
        // Every commit the process saw acknowledged survives it.
        var acknowledged = result.StandardOutput.Split('\n').Count(line => line.StartsWith("committed step", StringComparison.Ordinal));
        Assert.Equal(expectedLatest, acknowledged);

        using var system = Akka.Actor.ActorSystem.Create("reader", JournalDatabase.ConfigFor(db));
        var journal = system.ActorOf(CheckpointJournal.Props(CheckpointJournal.PersistenceIdFor("crash-helper")));
        var latest = await journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, Timeout);
        Assert.Equal(expectedLatest, latest.Record!.Step);
        Assert.Equal(Enumerable.Range(1, (int)expectedLatest).Reverse().Select(i => (long)i), latest.Committed.Select(r => r.Step));

        var resolved = CheckpointResolver.Resolve(latest.Committed, CheckpointResolver.LoadVerified, allowMissing: false, message => Assert.Fail(message));
        using var payload = resolved.Payload;
        Assert.Equal(expectedLatest, payload.Step);
        using var expected = arange(12, ScalarType.Float32).reshape(3, 4) * expectedLatest;
        Assert.Equal(Payloads.BytesOf(expected), Payloads.BytesOf(payload.ModelState["layer.weight"]));

        var stale = CheckpointHygiene.ListStale(root, latest.Committed, "crash-helper");
        Assert.Equal(leftover is null ? [] : [Path.Combine(root, leftover)], stale);
    }
}
