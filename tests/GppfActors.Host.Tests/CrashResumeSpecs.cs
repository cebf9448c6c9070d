using System.Text.RegularExpressions;
using GppfActors.Actors.Checkpointing;
using GppfActors.Model.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>
/// kill -9 of a real `gppf train` process at each stage of writing and committing a checkpoint,
/// then `--resume`: no acknowledged checkpoint is lost and the run continues from the newest
/// committed one. And an exact resume: 2K steps straight equal K steps, kill -9, K more.
/// </summary>
public sealed partial class CrashResumeSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    [Theory]
    [InlineData(CrashPoints.MidFileWrite, 10, 5)]
    [InlineData(CrashPoints.AfterFiles, 10, 5)]
    [InlineData(CrashPoints.AfterManifest, 10, 5)]
    [InlineData(CrashPoints.AfterRename, 10, 5)]
    [InlineData(CrashPoints.AfterJournal, 10, 10)]
    [InlineData(CrashPoints.DuringCleanup, 5, 10)]   // removing step 5 after step 10 was committed
    public void Should_resume_from_the_newest_committed_checkpoint_when_killed(string point, int atStep, int expectedResumeStep)
    {
        string run = Path.Combine(fixture.Root, $"crash-{point}");
        var crashed = GppfProcess.Run(fixture.Root, fixture.Job(run, 15, 5),
            new Dictionary<string, string> { ["GPPF_CRASH_AT"] = $"{point}@{atStep}" });
        output.WriteLine(crashed.Output);
        Assert.True(crashed.KilledBySigkill, $"expected SIGKILL at {point}, exit code {crashed.ExitCode}");

        // Every checkpoint the run reported as committed before it died is still on disk and verifies.
        foreach (Match m in CommittedPattern().Matches(crashed.Output))
        {
            long step = long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (step >= expectedResumeStep)
            {
                using var payload = CheckpointReader.Load(Path.Combine(run, CheckpointLayout.DirectoryName(step)));
                Assert.Equal(step, payload.Step);
            }
        }

        var resumed = GppfProcess.Run(fixture.Root, fixture.Job(run, 15, 5, "--resume"));
        output.WriteLine(resumed.Output);
        Assert.True(resumed.ExitCode == 0, resumed.Output);
        Assert.Contains($"resuming from checkpoint of step {expectedResumeStep}", resumed.Output);
        Assert.Contains("checkpoint step 15 committed", resumed.Output);
        Assert.DoesNotContain(".tmp", Directory.GetDirectories(run).Select(Path.GetFileName).OfType<string>().Where(d => d.StartsWith("step-", StringComparison.Ordinal)));
    }

    [Fact]
    public void Should_end_with_bit_identical_state_when_killed_halfway_and_resumed()
    {
        string straight = Path.Combine(fixture.Root, "straight");
        var a = GppfProcess.Run(fixture.Root, fixture.Job(straight, 16, 8));
        Assert.True(a.ExitCode == 0, a.Output);

        string interrupted = Path.Combine(fixture.Root, "interrupted");
        var b1 = GppfProcess.Run(fixture.Root, fixture.Job(interrupted, 16, 8),
            new Dictionary<string, string> { ["GPPF_CRASH_AT"] = $"{CrashPoints.AfterJournal}@8" });
        Assert.True(b1.KilledBySigkill, b1.Output);
        var b2 = GppfProcess.Run(fixture.Root, fixture.Job(interrupted, 16, 8, "--resume"));
        Assert.True(b2.ExitCode == 0, b2.Output);
        Assert.Contains("resuming from checkpoint of step 8", b2.Output);

        foreach (var file in new[] { CheckpointLayout.ModelFile, CheckpointLayout.OptimizerFile })
        {
            var expected = SafeTensorsFile.Load(Path.Combine(straight, CheckpointLayout.DirectoryName(16), file));
            var actual = SafeTensorsFile.Load(Path.Combine(interrupted, CheckpointLayout.DirectoryName(16), file));
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (key, value) in expected)
            {
                Assert.True(actual[key].eq(value).all().item<bool>(), $"{file}: {key} differs");
            }
            output.WriteLine($"{file}: {expected.Count} tensors bit-identical");
        }
    }

    [Fact]
    public void Should_recover_from_a_device_failure_and_end_bit_identical_to_an_undisturbed_run()
    {
        string undisturbed = Path.Combine(fixture.Root, "undisturbed");
        var a = GppfProcess.Run(fixture.Root, fixture.Job(undisturbed, 12, 12));
        Assert.True(a.ExitCode == 0, a.Output);

        // Device cpu:1 throws when asked to run step 7: it is restarted, every device drops the
        // step, a new epoch aligns the replicas from cpu:0, and step 7 runs again.
        string faulty = Path.Combine(fixture.Root, "faulty");
        var b = GppfProcess.Run(fixture.Root, fixture.Job(faulty, 12, 12),
            new Dictionary<string, string> { ["GPPF_FAULT_AT"] = "cpu:1@7" });
        output.WriteLine(b.Output);
        Assert.True(b.ExitCode == 0, b.Output);
        Assert.Contains("epoch 2: 2 device(s)", b.Output);
        Assert.Contains("step 7 failed on rank(s) 0, 1; discarded", b.Output);

        foreach (var file in new[] { CheckpointLayout.ModelFile, CheckpointLayout.OptimizerFile })
        {
            var expected = SafeTensorsFile.Load(Path.Combine(undisturbed, CheckpointLayout.DirectoryName(12), file));
            var actual = SafeTensorsFile.Load(Path.Combine(faulty, CheckpointLayout.DirectoryName(12), file));
            foreach (var (key, value) in expected)
            {
                Assert.True(actual[key].eq(value).all().item<bool>(), $"{file}: {key} differs after recovery");
            }
        }
    }

    [Fact]
    public void Should_refuse_to_overwrite_a_run_without_resume_and_name_bad_settings()
    {
        string run = Path.Combine(fixture.Root, "guard");
        var first = GppfProcess.Run(fixture.Root, fixture.Job(run, 5, 5));
        Assert.True(first.ExitCode == 0, first.Output);
        var again = GppfProcess.Run(fixture.Root, fixture.Job(run, 5, 5));
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("pass --resume", again.Output);

        var bad = GppfProcess.Run(fixture.Root, fixture.Job(Path.Combine(fixture.Root, "bad"), 5, 5, "--set", "tasks.shapes_det.batch_size=0"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("tasks.shapes_det.batch_size", bad.Output);
    }

    [GeneratedRegex(@"checkpoint step (\d+) committed")]
    private static partial Regex CommittedPattern();
}
