using GppfActors.Actors.Checkpointing;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>
/// A run folder belongs to one job and one process: another job, another model layout or a second
/// process is refused at start with one line naming both sides, and nothing the first job saved
/// is touched.
/// </summary>
public sealed class RunFolderProcessSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    [Fact]
    public void Should_refuse_another_job_or_layout_in_a_run_folder_and_leave_its_checkpoints_and_files_untouched()
    {
        string run = Path.Combine(fixture.Root, "owned");
        var first = GppfProcess.Run(fixture.Root, fixture.Job(run, 8, 4));
        Assert.True(first.ExitCode == 0, first.Output);
        var checkpoint = Path.Combine(run, CheckpointLayout.DirectoryName(8));
        var resolvedBefore = File.ReadAllBytes(Path.Combine(run, "job.resolved.json"));

        var otherJob = GppfProcess.Run(fixture.Root, fixture.Job(run, 8, 4, "--set", "name=exp2"));
        output.WriteLine(otherJob.Output);
        Assert.Equal(2, otherJob.ExitCode);
        Assert.Contains("belongs to job 'cpu-small'", otherJob.Output);
        Assert.Contains("this job is 'exp2'", otherJob.Output);

        var otherLayout = GppfProcess.Run(fixture.Root, fixture.Job(run, 12, 4, "--resume", "--set", "tasks.shapes_cls.num_classes=7"));
        output.WriteLine(otherLayout.Output);
        Assert.Equal(2, otherLayout.ExitCode);
        Assert.Contains("tasks.shapes_cls.num_classes: 5 in the run folder, 7 now", otherLayout.Output);

        var notResumed = GppfProcess.Run(fixture.Root, fixture.Job(run, 12, 4, "--set", "optimizer.lr=0.01"));
        Assert.Equal(2, notResumed.ExitCode);
        Assert.Contains("pass --resume", notResumed.Output);

        // The first job's checkpoint is still there and verifies; its resolved config was not overwritten.
        using (var payload = CheckpointReader.Load(checkpoint))
        {
            Assert.Equal(8, payload.Step);
        }
        Assert.Equal(resolvedBefore, File.ReadAllBytes(Path.Combine(run, "job.resolved.json")));
        foreach (var refused in new[] { otherJob, otherLayout, notResumed })
        {
            AssertOneLineError(refused.Output);
        }
    }

    [Fact]
    public void Should_refuse_a_second_process_on_a_run_folder_at_once_naming_the_holders_pid()
    {
        string run = Path.Combine(fixture.Root, "locked");
        using var holder = GppfProcess.Start(fixture.Root, fixture.Job(run, 100_000, 0));
        Assert.True(holder.WaitForOutput("step ", 120), holder.OutputSoFar);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var second = GppfProcess.Run(fixture.Root, fixture.Job(run, 100_000, 0, "--resume"), timeoutSeconds: 60);
        output.WriteLine(second.Output);
        Assert.Equal(2, second.ExitCode);
        Assert.Contains($"in use by another gppf process (pid {holder.Id})", second.Output);
        Assert.True(started.Elapsed.TotalSeconds < 30, $"refusal took {started.Elapsed.TotalSeconds:0.0} s");
        AssertOneLineError(second.Output);

        // The kernel releases the lock of a killed process: the folder is usable again.
        holder.KillHard();
        Assert.True(holder.WaitForExit(30).KilledBySigkill);
        using var next = GppfProcess.Start(fixture.Root, fixture.Job(run, 100_000, 0, "--set", "train.max_steps=3", "--set", "checkpoint.every_steps=0"));
        var result = next.WaitForExit(120);
        Assert.True(result.ExitCode == 0, result.Output);
    }

    [Fact]
    public void Should_end_every_user_error_with_one_line_naming_the_file_or_key_and_no_stack_trace()
    {
        string empty = Path.Combine(fixture.Root, "empty-data");
        Directory.CreateDirectory(empty);
        var noData = GppfProcess.Run(fixture.Root, [.. fixture.Job(Path.Combine(fixture.Root, "e1"), 4, 0), "--set", $"data.root={empty}"]);
        Assert.Equal(2, noData.ExitCode);
        Assert.Contains(empty, noData.Output);
        AssertOneLineError(noData.Output);

        string badJournal = Path.Combine(fixture.Root, "e2");
        Directory.CreateDirectory(badJournal);
        File.WriteAllText(Path.Combine(badJournal, "journal.db"), "this is not a database");
        var started = System.Diagnostics.Stopwatch.StartNew();
        var journal = GppfProcess.Run(fixture.Root, fixture.Job(badJournal, 4, 0));
        Assert.Equal(2, journal.ExitCode);
        Assert.Contains(Path.Combine(badJournal, "journal.db"), journal.Output);
        Assert.True(started.Elapsed.TotalSeconds < 30, $"took {started.Elapsed.TotalSeconds:0.0} s");
        AssertOneLineError(journal.Output);

        var nothing = GppfProcess.Run(fixture.Root, fixture.Job(Path.Combine(fixture.Root, "e3"), 4, 0, "--resume"));
        Assert.Equal(2, nothing.ExitCode);
        Assert.Contains("holds no committed checkpoint", nothing.Output);
        AssertOneLineError(nothing.Output);

        var key = GppfProcess.Run(fixture.Root, fixture.Job(Path.Combine(fixture.Root, "e4"), 4, 0, "--set", "data.timeout_seconds=90"));
        Assert.Equal(2, key.ExitCode);
        Assert.Contains("data.timeout_seconds", key.Output);
        Assert.Contains("collectives.timeout_seconds", key.Output);
    }

    private static void AssertOneLineError(string text)
    {
        var lines = text.Split('\n');
        Assert.Single(lines, l => l.Contains("cannot start:", StringComparison.Ordinal) || l.Contains("job configuration:", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
    }
}
