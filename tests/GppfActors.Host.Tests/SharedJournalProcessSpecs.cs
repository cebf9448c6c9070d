using GppfActors.Testing;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>
/// `gppf train` with its checkpoint journal in a real PostgreSQL database (checkpoint.journal =
/// postgresql, the connection string from an environment variable): runs of one job in two run
/// folders share the database without seeing each other's checkpoints, a resume continues exactly,
/// the password never appears in the output, and a journal that cannot be used is one line.
/// </summary>
public sealed class SharedJournalProcessSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    private const string Secret = "s3cret-not-for-logs";

    private static string[] PostgreSql(params string[] extra) => ["--set", "checkpoint.journal=postgresql", .. extra];

    [Fact]
    public void Should_keep_runs_apart_in_one_database_and_resume_exactly_without_showing_the_password()
    {
        // The throwaway server trusts loopback connections, so the password is never checked, only carried.
        var connection = new NpgsqlConnectionStringBuilder(PostgresServer.Shared.CreateDatabase()) { Password = Secret }.ConnectionString;
        var environment = new Dictionary<string, string> { ["GPPF_JOURNAL_CONNECTION"] = connection };
        string second = Path.Combine(fixture.Root, "pg-second");

        // The first run is killed (SIGKILL) right after the journal committed step 4.
        var (a, first) = CrashRuns.RunUntilCrashed(fixture.Root, attempt => Path.Combine(fixture.Root, $"pg-first-{attempt}"),
            run => fixture.Job(run, 6, 2, PostgreSql()), new Dictionary<string, string>(environment) { ["GPPF_CRASH_AT"] = "after-journal@4" }, output);
        Assert.True(a.KilledBySigkill, a.Output);
        // The same job in another run folder is another run in the same database, not "already holds checkpoints".
        var b = GppfProcess.Run(fixture.Root, fixture.Job(second, 4, 2, PostgreSql()), environment);
        Assert.True(b.ExitCode == 0, b.Output);
        Assert.Contains("journal: PostgreSQL journal 127.0.0.1:", b.Output);
        Assert.False(File.Exists(Path.Combine(first, "journal.db")));

        var resumed = GppfProcess.Run(fixture.Root, fixture.Job(first, 6, 2, PostgreSql("--resume")), environment);
        output.WriteLine(resumed.Output);
        Assert.True(resumed.ExitCode == 0, resumed.Output);
        Assert.Contains("resuming from checkpoint of step 4", resumed.Output);
        Assert.Equal([6L], RunFiles.CommittedSteps(resumed.Output));
        RunFiles.AssertSameState(fixture.Reference(6, 2), first, 6);

        foreach (var text in new[] { a.Output, b.Output, resumed.Output })
        {
            Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        }
        Assert.DoesNotContain(Secret, File.ReadAllText(Path.Combine(first, "job.resolved.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_in_one_line_a_postgresql_journal_without_its_variable_or_that_cannot_be_reached()
    {
        var noVariable = GppfProcess.Run(fixture.Root, fixture.Job(Path.Combine(fixture.Root, "pg-novar"), 4, 0,
            PostgreSql("--set", "checkpoint.journal_connection_env=GPPF_TEST_UNSET_JOURNAL")));
        Assert.Equal(2, noVariable.ExitCode);
        Assert.Contains("GPPF_TEST_UNSET_JOURNAL (checkpoint.journal_connection_env)", noVariable.Output);
        AssertOneLine(noVariable.Output);

        // Nothing listens on a port just released.
        int port = LoopbackPorts.Free();
        var environment = new Dictionary<string, string>
        {
            ["GPPF_JOURNAL_CONNECTION"] = $"Host=127.0.0.1;Port={port};Username=gppf;Password={Secret};Database=runs;Timeout=3",
        };
        var unreachable = GppfProcess.Run(fixture.Root, fixture.Job(Path.Combine(fixture.Root, "pg-down"), 4, 0, PostgreSql()), environment);
        output.WriteLine(unreachable.Output);
        Assert.Equal(2, unreachable.ExitCode);
        Assert.Contains($"PostgreSQL journal 127.0.0.1:{port}/runs (user gppf) cannot be used", unreachable.Output);
        Assert.DoesNotContain(Secret, unreachable.Output, StringComparison.Ordinal);
        AssertOneLine(unreachable.Output);
    }

    private static void AssertOneLine(string text)
    {
        var lines = text.Split('\n');
        Assert.Single(lines, l => l.Contains("cannot start:", StringComparison.Ordinal) || l.Contains("job configuration:", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }
}
