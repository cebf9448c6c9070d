using GppfActors.Actors.Checkpointing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Actors.Tests.Checkpointing;

/// <summary>The SIGKILL crash injector, checked on a real child process.</summary>
public sealed class CheckpointCrashProcessSpecs : IDisposable
{
    // 128 + SIGKILL: how .NET (and shells) report a process killed by signal 9.
    private const int KilledBySigkill = 137;

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Should_die_by_sigkill_with_the_previous_checkpoint_intact_when_killed_after_the_manifest()
    {
        var result = await CrashHelperProcess.RunAsync(_root.Path, numSteps: 5, crashAt: "after-manifest@3", TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == KilledBySigkill, $"exit code {result.ExitCode}; stdout: {result.StandardOutput}; stderr: {result.StandardError}");
        Assert.Contains("killing process", result.StandardError);
        Assert.Contains("wrote step 2", result.StandardOutput);
        Assert.DoesNotContain("wrote step 3", result.StandardOutput);

        var crashed = _root.Combine("step-00000003.tmp");
        Assert.True(File.Exists(Path.Combine(crashed, CheckpointLayout.ManifestFile)));
        Assert.False(Directory.Exists(_root.Combine("step-00000003")));
        Assert.False(Directory.Exists(_root.Combine("step-00000004.tmp")));

        using var previous = CheckpointReader.Load(_root.Combine("step-00000002"));
        Assert.Equal(2, previous.Step);
        using var expected = arange(12, ScalarType.Float32).reshape(3, 4) * 2;
        Assert.Equal(Payloads.BytesOf(expected), Payloads.BytesOf(previous.ModelState["layer.weight"]));

        // What the coordinator would clean up at the next start, had the journal committed 1 and 2.
        CheckpointRecord[] committed = [Records.At(1, root: _root.Path), Records.At(2, root: _root.Path)];
        Assert.Equal([crashed], CheckpointHygiene.ListStale(_root.Path, committed, "crash-helper"));
    }
}
