using GppfActors.Actors.Checkpointing;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>
/// kill -9 of a real `gppf train` process at each stage of writing and committing a checkpoint,
/// then `--resume`: no acknowledged checkpoint is lost, the run continues from the newest committed
/// one, and it ends byte-identical to an undisturbed run. And a device that fails in the middle of
/// a step (while its peers are inside collectives) is recovered with the same exactness.
/// </summary>
public sealed class CrashResumeSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    private const int Steps = 16;
    private const int Every = 4;

    [Theory]
    [InlineData(CrashPoints.MidFileWrite, 8, new long[] { 4 }, 4)]
    [InlineData(CrashPoints.AfterFiles, 8, new long[] { 4 }, 4)]
    [InlineData(CrashPoints.AfterManifest, 8, new long[] { 4 }, 4)]
    [InlineData(CrashPoints.AfterRename, 8, new long[] { 4 }, 4)]
    [InlineData(CrashPoints.AfterJournal, 8, new long[] { 4 }, 8)]   // the journal holds 8; the process died before it could report it
    [InlineData(CrashPoints.DuringCleanup, 4, new long[] { 4, 8 }, 8)] // removing step 4 after step 8 was committed
    public void Should_resume_from_the_newest_committed_checkpoint_and_end_byte_identical_when_killed(string point, int atStep, long[] reported, long resumeStep)
    {
        // A skipped checkpoint (see CrashRuns) can also be one the resumed run must write: then
        // both runs go again in a fresh folder.
        for (int attempt = 1; ; attempt++)
        {
            var (crashed, run) = CrashRuns.RunUntilCrashed(fixture.Root, a => Path.Combine(fixture.Root, $"crash-{point}-{attempt}-{a}"),
                folder => fixture.Job(folder, Steps, Every), new Dictionary<string, string> { ["GPPF_CRASH_AT"] = $"{point}@{atStep}" }, output);
            Assert.True(crashed.KilledBySigkill, $"expected SIGKILL at {point}, exit code {crashed.ExitCode}");
            Assert.Equal(reported, RunFiles.CommittedSteps(crashed.Output));

            var resumed = GppfProcess.Run(fixture.Root, fixture.Job(run, Steps, Every, "--resume"));
            output.WriteLine(resumed.Output);
            Assert.True(resumed.ExitCode == 0, resumed.Output);
            if (CrashRuns.Skipped(resumed.Output) && attempt < CrashRuns.Attempts)
            {
                output.WriteLine($"attempt {attempt}: the resumed run skipped a checkpoint; again");
                continue;
            }
            // Never behind what was acknowledged before the crash.
            Assert.True(resumeStep >= reported.Max());
            Assert.Contains($"resuming from checkpoint of step {resumeStep} ", resumed.Output);
            // Every boundary after the resume point is committed, the one the crash interrupted included.
            Assert.Equal(Enumerable.Range(1, Steps / Every).Select(i => (long)i * Every).Where(s => s > resumeStep), RunFiles.CommittedSteps(resumed.Output));
            Assert.DoesNotContain("not saved", resumed.Output);
            Assert.DoesNotContain(Directory.GetDirectories(run, "step-*"), d => !CheckpointLayout.TryParse(Path.GetFileName(d), out _, out var suffix) || suffix.Length > 0);
            RunFiles.AssertSameState(fixture.Reference(Steps, Every), run, Steps);
            return;
        }
    }

    [Theory]
    [InlineData("start", "step 7 failed on rank(s) 0, 1; discarded")]
    [InlineData("after-forward", "step 7 failed on rank(s) 0, 1; discarded")]
    [InlineData("in-backward", "step 7 failed on rank(s) 0, 1; discarded")]
    [InlineData("after-fusion", "step 7 completed, but rank(s) 1 failed")]   // past the last collective: cpu:0 applied it
    public void Should_recover_from_a_device_failing_mid_step_and_end_byte_identical_to_an_undisturbed_run(string phase, string decision)
    {
        // Device cpu:1 throws at step 7 at the given point of its step, while cpu:0 is inside (or on
        // its way into) a collective: the group is aborted, the step is discarded everywhere (no
        // partial BatchNorm or optimizer update survives), cpu:1 is restarted, a new epoch aligns
        // the replicas from cpu:0, and step 7 runs again.
        string faulty = Path.Combine(fixture.Root, $"fault-{phase}");
        var b = GppfProcess.Run(fixture.Root, fixture.Job(faulty, Steps, Every),
            new Dictionary<string, string> { ["GPPF_FAULT_AT"] = $"cpu:1@7:{phase}" });
        output.WriteLine(b.Output);
        Assert.True(b.ExitCode == 0, b.Output);
        Assert.Contains("epoch 2: 2 device(s)", b.Output);
        Assert.Contains(decision, b.Output);
        RunFiles.AssertSameState(fixture.Reference(Steps, Every), faulty, Steps);
    }
}
