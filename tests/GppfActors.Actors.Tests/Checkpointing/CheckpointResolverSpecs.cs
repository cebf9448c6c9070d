using GppfActors.Actors.Checkpointing;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public sealed class CheckpointResolverSpecs : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly List<string> _warnings = [];

    public void Dispose() => _root.Dispose();

    private CheckpointRecord Write(long step)
    {
        using var payload = Payloads.Sample(step);
        return new CheckpointWriter().Write(_root.Path, payload);
    }

    [Fact]
    public void Should_fall_back_to_the_previous_checkpoint_with_a_loud_warning_when_the_newest_is_corrupt()
    {
        var older = Write(1);
        var newest = Write(2);
        var model = Path.Combine(newest.Directory, CheckpointLayout.ModelFile);
        var bytes = File.ReadAllBytes(model);
        bytes[^3] ^= 0x01;
        File.WriteAllBytes(model, bytes);

        var resolved = CheckpointResolver.LatestLoadable([newest, older], CheckpointReader.Load, _warnings.Add);

        Assert.NotNull(resolved);
        using var payload = resolved.Payload;
        Assert.Equal(older, resolved.Record);
        using var expected = Payloads.Sample(1);
        Payloads.AssertIdentical(expected, payload);
        var warning = Assert.Single(_warnings);
        Assert.Contains("CHECKPOINT UNUSABLE", warning);
        Assert.Contains(newest.Directory, warning);
        Assert.Contains(CheckpointLayout.ModelFile, warning);
        Assert.Contains("falling back to step 1", warning);
        Assert.Equal(newest, Assert.Single(resolved.Skipped).Record);
    }

    [Fact]
    public void Should_fall_back_when_the_newest_directory_is_missing()
    {
        var older = Write(1);
        var newest = Write(2);
        Directory.Delete(newest.Directory, recursive: true);

        var resolved = CheckpointResolver.LatestLoadable([newest, older], CheckpointReader.Load, _warnings.Add);

        Assert.NotNull(resolved);
        using var payload = resolved.Payload;
        Assert.Equal(1, payload.Step);
        Assert.Contains("does not exist", Assert.Single(_warnings));
    }

    [Fact]
    public void Should_return_null_with_one_warning_each_when_no_committed_checkpoint_loads()
    {
        var older = Write(1);
        var newest = Write(2);
        File.Delete(Path.Combine(older.Directory, CheckpointLayout.ManifestFile));
        File.Delete(Path.Combine(newest.Directory, CheckpointLayout.ManifestFile));

        Assert.Null(CheckpointResolver.LatestLoadable([newest, older], CheckpointReader.Load, _warnings.Add));
        Assert.Equal(2, _warnings.Count);
        Assert.Contains("no older committed checkpoint is left", _warnings[1]);
        Assert.Null(CheckpointResolver.LatestLoadable([], CheckpointReader.Load, _warnings.Add));
        Assert.Equal(2, _warnings.Count);
    }

    [Fact]
    public void Should_let_the_failure_through_when_loading_fails_for_a_reason_other_than_corruption()
    {
        CheckpointRecord[] committed = [Records.At(2), Records.At(1)];
        var loads = 0;

        Assert.Throws<UnauthorizedAccessException>(() => CheckpointResolver.LatestLoadable(
            committed,
            _ =>
            {
                loads++;
                throw new UnauthorizedAccessException("permission denied");
            },
            _warnings.Add));
        Assert.Equal(1, loads);
        Assert.Empty(_warnings);
    }
}
