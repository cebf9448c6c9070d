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

    private ResolvedCheckpoint Resolve(IReadOnlyList<CheckpointRecord> committed, bool allowMissing = false) =>
        CheckpointResolver.Resolve(committed, CheckpointResolver.LoadVerified, allowMissing, _warnings.Add);

    [Fact]
    public void Should_fall_back_to_the_previous_checkpoint_with_a_loud_warning_when_the_newest_is_corrupt()
    {
        var older = Write(1);
        var newest = Write(2);
        var model = Path.Combine(newest.Directory, CheckpointLayout.ModelFile);
        var bytes = File.ReadAllBytes(model);
        bytes[^3] ^= 0x01;
        File.WriteAllBytes(model, bytes);

        var resolved = Resolve([newest, older]);

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
    public void Should_refuse_a_directory_that_verifies_by_itself_but_is_not_the_one_the_journal_committed()
    {
        var older = Write(1);
        var newest = Write(2);
        // The folder is replaced by another complete, self-consistent checkpoint of the same step:
        // only the journaled manifest hash tells it apart.
        Directory.Delete(newest.Directory, recursive: true);
        using (var other = Payloads.Sample(2, seed: 99))
        {
            new CheckpointWriter().Write(_root.Path, other);
        }

        var resolved = Resolve([newest, older]);

        using var payload = resolved.Payload;
        Assert.Equal(1, payload.Step);
        Assert.Contains("the journal recorded", Assert.Single(_warnings));
    }

    [Fact]
    public void Should_refuse_to_resume_and_change_nothing_when_the_newest_directory_is_missing()
    {
        var older = Write(1);
        var newest = Write(2);
        Directory.Delete(newest.Directory, recursive: true);

        var refused = Assert.Throws<ResumeException>(() => Resolve([newest, older]));

        Assert.Contains("step 2, is missing", refused.Message);
        Assert.Contains("--discard-missing", refused.Message);
        Assert.Empty(_warnings);
    }

    [Fact]
    public void Should_fall_back_past_a_missing_directory_when_allowed()
    {
        var older = Write(1);
        var newest = Write(2);
        Directory.Delete(newest.Directory, recursive: true);

        var resolved = Resolve([newest, older], allowMissing: true);

        using var payload = resolved.Payload;
        Assert.Equal(1, payload.Step);
        Assert.Contains("does not exist", Assert.Single(_warnings));
        Assert.Equal(2, Assert.Single(resolved.Skipped).Record.Step);
    }

    [Fact]
    public void Should_name_every_checkpoint_tried_when_none_loads()
    {
        var older = Write(1);
        var newest = Write(2);
        File.Delete(Path.Combine(older.Directory, CheckpointLayout.ManifestFile));
        File.Delete(Path.Combine(newest.Directory, CheckpointLayout.ManifestFile));

        var refused = Assert.Throws<ResumeException>(() => Resolve([newest, older]));

        Assert.Contains("nothing was changed", refused.Message);
        Assert.Contains($"step 2 at '{newest.Directory}'", refused.Message);
        Assert.Contains($"step 1 at '{older.Directory}'", refused.Message);
        Assert.Equal(2, _warnings.Count);
        Assert.Contains("no older committed checkpoint is left", _warnings[1]);
        Assert.Contains("holds no committed checkpoint", Assert.Throws<ResumeException>(() => Resolve([])).Message);
    }

    [Fact]
    public void Should_let_the_failure_through_when_loading_fails_for_a_reason_other_than_corruption()
    {
        var newest = Write(2);
        var loads = 0;

        Assert.Throws<UnauthorizedAccessException>(() => CheckpointResolver.Resolve(
            [newest, Records.At(1)],
            _ =>
            {
                loads++;
                throw new UnauthorizedAccessException("permission denied");
            },
            allowMissing: false,
            _warnings.Add));
        Assert.Equal(1, loads);
        Assert.Empty(_warnings);
    }
}
