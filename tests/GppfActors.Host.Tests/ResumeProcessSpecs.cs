using GppfActors.Actors.Checkpointing;
using Xunit;
using Xunit.Abstractions;

namespace GppfActors.Host.Tests;

/// <summary>What `--resume` trusts and refuses, on real processes.</summary>
public sealed class ResumeProcessSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    [Fact]
    public void Should_commit_every_later_checkpoint_after_a_device_restart_a_kill_and_a_resume()
    {
        // A device fault at step 3 moves the run to epoch 2; steps 4 and 8 are committed in epoch 2;
        // the process is killed right after the journal acknowledged step 8. The resumed process
        // must number its epochs above 2, or the journal refuses its commits as "older".
        var (crashed, run) = CrashRuns.RunUntilCrashed(fixture.Root, attempt => Path.Combine(fixture.Root, $"epochs-{attempt}"), run => fixture.Job(run, 16, 4),
            new Dictionary<string, string>
            {
                ["GPPF_FAULT_AT"] = "cpu:1@3",
                ["GPPF_CRASH_AT"] = $"{CrashPoints.AfterJournal}@8",
            }, output);
        Assert.True(crashed.KilledBySigkill, crashed.Output);
        Assert.Contains("epoch 2:", crashed.Output);

        var resumed = GppfProcess.Run(fixture.Root, fixture.Job(run, 16, 4, "--resume"));
        output.WriteLine(resumed.Output);
        Assert.True(resumed.ExitCode == 0, resumed.Output);
        Assert.Contains("resuming from checkpoint of step 8 ", resumed.Output);
        Assert.Contains("epoch 3:", resumed.Output);
        Assert.Equal([12L, 16L], RunFiles.CommittedSteps(resumed.Output));
        Assert.DoesNotContain("not saved", resumed.Output);
        RunFiles.AssertSameState(fixture.Reference(16, 4), run, 16);
        // The routing record holds every step once, as the undisturbed run's does, value for value.
        Assert.Equal(File.ReadAllLines(Path.Combine(fixture.Reference(16, 4), "routing.csv")), File.ReadAllLines(Path.Combine(run, "routing.csv")));
    }

    [Fact]
    public void Should_fall_back_past_a_replaced_checkpoint_refuse_a_missing_one_and_change_nothing_when_none_loads()
    {
        string run = Path.Combine(fixture.Root, "resume-rules");
        var first = GppfProcess.Run(fixture.Root, fixture.Job(run, 8, 4, "--set", "checkpoint.keep_last=5"));
        Assert.True(first.ExitCode == 0, first.Output);
        string newest = Path.Combine(run, CheckpointLayout.DirectoryName(8));
        string older = Path.Combine(run, CheckpointLayout.DirectoryName(4));

        // Missing: refused, naming the folder, with the way out.
        string aside = Path.Combine(fixture.Root, "aside-8");
        Directory.Move(newest, aside);
        var missing = GppfProcess.Run(fixture.Root, fixture.Job(run, 12, 4, "--resume"));
        output.WriteLine(missing.Output);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("step 8, is missing", missing.Output);
        Assert.Contains("--discard-missing", missing.Output);
        Directory.Move(aside, newest);

        // Corrupt everywhere: refused, every checkpoint named, nothing discarded (the same refusal again).
        var manifests = new[] { newest, older }.Select(d => Path.Combine(d, CheckpointLayout.ManifestFile)).ToList();
        var originals = manifests.Select(File.ReadAllBytes).ToList();
        foreach (var manifest in manifests)
        {
            File.AppendAllText(manifest, " ");          // still valid JSON, but not the bytes the journal hashed
        }
        for (int attempt = 0; attempt < 2; attempt++)
        {
            var none = GppfProcess.Run(fixture.Root, fixture.Job(run, 12, 4, "--resume"));
            output.WriteLine(none.Output);
            Assert.Equal(2, none.ExitCode);
            Assert.Contains("no committed checkpoint could be loaded", none.Output);
            Assert.Contains("step 8 at", none.Output);
            Assert.Contains("step 4 at", none.Output);
            Assert.Contains("the journal recorded", none.Output);
        }

        // Only the newest replaced: a loud fallback to step 4, and step 8 is trained and committed again.
        File.WriteAllBytes(manifests[1], originals[1]);
        var fallback = GppfProcess.Run(fixture.Root, fixture.Job(run, 12, 4, "--resume"));
        output.WriteLine(fallback.Output);
        Assert.True(fallback.ExitCode == 0, fallback.Output);
        Assert.Contains("CHECKPOINT UNUSABLE", fallback.Output);
        Assert.Contains("resuming from checkpoint of step 4 ", fallback.Output);
        Assert.Equal([8L, 12L], RunFiles.CommittedSteps(fallback.Output));
    }
}
