using System.Text.RegularExpressions;
using Akka.Actor;
using GppfActors.Actors;
using GppfActors.Actors.Checkpointing;
using Microsoft.Data.Sqlite;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>
/// `gppf train` SIGKILLed from outside at seeded random moments (while starting, mid-step, while
/// writing or committing a checkpoint) and resumed each time: every journaled checkpoint verifies,
/// progress never goes back past a commit, TensorBoard shows each step once, and the final model,
/// optimizer and sampler state equal an undisturbed run's byte for byte.
/// </summary>
public sealed class KillStormSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    private const int Steps = 48;
    private const int Every = 4;
    private const int Kills = 6;

    [Fact]
    public void Should_end_byte_identical_to_an_undisturbed_run_after_being_killed_at_random_moments()
    {
        string run = Path.Combine(fixture.Root, "storm");
        var random = new Random(20261130);
        long committed = -1;
        int landedAfterACommit = 0;
        for (int kill = 0; kill < Kills; kill++)
        {
            using var process = GppfProcess.Start(fixture.Root, fixture.Job(run, Steps, Every, committed >= 0 ? ["--resume"] : []));
            // A third of the kills land while the process starts; the others a random fraction of a
            // step after a random step past the resume point: mid-step, mid-write or mid-commit.
            string when;
            if (random.Next(3) == 0)
            {
                double delay = 0.3 + random.NextDouble() * 2.5;
                Thread.Sleep(TimeSpan.FromSeconds(delay));   // the random moment itself; nothing is synchronised on it
                when = $"{delay:0.00} s after start";
            }
            else
            {
                long target = Math.Max(committed, 0) + 1 + random.Next(Every * 3);
                if (!process.WaitForMatch(new Regex($@"step\s+{target}/{Steps}"), 180))
                {
                    Assert.Fail($"kill {kill}: the run never reached step {target}:\n{process.OutputSoFar}");
                }
                double delay = random.NextDouble() * 0.3;
                Thread.Sleep(TimeSpan.FromSeconds(delay));
                when = $"{delay:0.00} s after step {target}";
            }
            process.KillHard();
            var result = process.WaitForExit(60);
            output.WriteLine($"--- kill {kill} {when}, exit {result.ExitCode}\n{result.Output}");
            Assert.True(result.KilledBySigkill, $"kill {kill}: exit {result.ExitCode}\n{result.Output}");
            if (committed >= 0 && result.Output.Contains("resuming from", StringComparison.Ordinal))
            {
                Assert.Contains($"resuming from checkpoint of step {committed} ", result.Output);
            }
            long latest = VerifyJournal(run);
            Assert.True(latest >= committed, $"kill {kill}: the journal's latest step went back from {committed} to {latest}");
            landedAfterACommit += committed >= 0 ? 1 : 0;
            committed = latest;
        }
        Assert.True(landedAfterACommit >= Kills / 2, $"only {landedAfterACommit} kills hit a run that had resumed");

        var final = GppfProcess.Run(fixture.Root, fixture.Job(run, Steps, Every, committed >= 0 ? ["--resume"] : []));
        output.WriteLine(final.Output);
        Assert.True(final.ExitCode == 0, final.Output);
        Assert.Equal(Steps, VerifyJournal(run));
        RunFiles.AssertSameState(fixture.Reference(Steps, Every), run, Steps);

        var (scalars, starts) = TensorBoardEvents.Read(Path.Combine(run, "tensorboard"));
        Assert.True(starts >= 2, $"{starts} restart markers");
        Assert.Equal(Enumerable.Range(0, Steps).Select(i => (long)i), scalars.Where(s => s.Tag == "schedule/lr").Select(s => s.Step).Order());
        Assert.Empty(scalars.GroupBy(s => (s.Tag, s.Step)).Where(g => g.Count() > 1).Select(g => g.Key));
    }

    // Every committed checkpoint in the journal loads and matches its journaled hash; returns the latest step (-1 when none).
    private static long VerifyJournal(string run)
    {
        var db = Path.Combine(run, "journal.db");
        if (!File.Exists(db))
        {
            return -1;
        }
        using (var system = ActorSystem.Create("storm-reader", CheckpointJournalConfig.Sqlite(db).WithFallback(ActorSystemConfig.Base)))
        {
            var journal = system.ActorOf(CheckpointJournal.Props(CheckpointJournal.PersistenceIdFor("cpu-small")));
            var latest = journal.Ask<LatestCheckpoint>(GetLatestCheckpoint.Instance, TimeSpan.FromSeconds(30)).Result;
            foreach (var record in latest.Committed)
            {
                using var payload = CheckpointResolver.LoadVerified(record);
                Assert.Equal(record.Step, payload.Step);
            }
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            SqliteConnection.ClearAllPools();
            return latest.Record?.Step ?? -1;
        }
    }
}
