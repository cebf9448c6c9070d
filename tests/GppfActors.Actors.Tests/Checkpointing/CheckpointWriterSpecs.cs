using GppfActors.Actors.Checkpointing;
using GppfActors.Model.Checkpoints;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public sealed class CheckpointWriterSpecs : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Should_read_back_bit_identical_tensors_and_json_when_a_checkpoint_is_written()
    {
        using var written = Payloads.Sample(120, epoch: 3);
        var record = new CheckpointWriter().Write(_root.Path, written);
        using var read = CheckpointReader.Load(record.Directory);
        Payloads.AssertIdentical(written, read);
        Assert.Equal(120, record.Step);
        Assert.Equal(3, record.Epoch);
    }

    [Fact]
    public void Should_leave_only_the_final_directory_when_a_write_succeeds()
    {
        using var payload = Payloads.Sample(120);
        var record = new CheckpointWriter().Write(_root.Path, payload);
        Assert.Equal([_root.Combine("step-00000120")], Directory.GetFileSystemEntries(_root.Path));
        Assert.Equal(_root.Combine("step-00000120"), record.Directory);
        var files = Directory.GetFileSystemEntries(record.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(["manifest.json", "model.safetensors", "optimizer.safetensors", "state.json"], files);
    }

    [Fact]
    public void Should_record_the_manifest_hash_and_total_size_when_a_write_succeeds()
    {
        using var payload = Payloads.Sample(8);
        var record = new CheckpointWriter().Write(_root.Path, payload);
        Assert.Equal(StateDicts.Sha256Hex(Path.Combine(record.Directory, CheckpointLayout.ManifestFile)), record.ManifestSha256);
        Assert.Equal(Directory.GetFiles(record.Directory).Sum(path => new FileInfo(path).Length), record.Bytes);
    }

    [Fact]
    public void Should_write_the_checkpoint_when_a_stale_tmp_directory_of_that_step_is_left_from_a_crash()
    {
        var stale = Directory.CreateDirectory(_root.Combine("step-00000005.tmp")).FullName;
        File.WriteAllText(Path.Combine(stale, CheckpointLayout.ModelFile), "half a file");
        File.WriteAllText(Path.Combine(stale, "stray.bin"), "not part of any checkpoint");

        using var payload = Payloads.Sample(5);
        var record = new CheckpointWriter().Write(_root.Path, payload);

        Assert.False(Directory.Exists(stale));
        Assert.False(File.Exists(Path.Combine(record.Directory, "stray.bin")));
        using var read = CheckpointReader.Load(record.Directory);
        Payloads.AssertIdentical(payload, read);
    }

    [Fact]
    public void Should_refuse_to_overwrite_when_the_step_directory_already_exists()
    {
        using var first = Payloads.Sample(9, seed: 1);
        var record = new CheckpointWriter().Write(_root.Path, first);
        using var second = Payloads.Sample(9, seed: 2);

        var exception = Assert.Throws<IOException>(() => new CheckpointWriter().Write(_root.Path, second));

        Assert.Contains("step-00000009", exception.Message);
        using var read = CheckpointReader.Load(record.Directory);
        Payloads.AssertIdentical(first, read);
    }

    [Theory]
    [InlineData(CrashPoints.MidFileWrite)]
    [InlineData(CrashPoints.AfterFiles)]
    [InlineData(CrashPoints.AfterManifest)]
    [InlineData(CrashPoints.AfterRename)]
    public void Should_leave_no_directory_of_the_step_when_the_write_fails_at(string point)
    {
        using var payload = Payloads.Sample(4);
        Assert.Throws<SimulatedCrashException>(() => new CheckpointWriter(new ThrowingCrashInjector(point)).Write(_root.Path, payload));
        // A failure the process lives through is cleaned up at once: nobody was told of the
        // directory, and a retry of the step must not find it in the way.
        Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
        var retried = new CheckpointWriter().Write(_root.Path, payload);
        Assert.Equal(4, retried.Step);
    }
}
