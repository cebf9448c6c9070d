using System.Security.Cryptography;
using GppfActors.Actors.Checkpointing;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public sealed class CheckpointReaderSpecs : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly CheckpointRecord _record;

    public CheckpointReaderSpecs()
    {
        using var payload = Payloads.Sample(30);
        _record = new CheckpointWriter().Write(_root.Path, payload);
    }

    public void Dispose() => _root.Dispose();

    private string FileOf(string name) => Path.Combine(_record.Directory, name);

    [Fact]
    public void Should_throw_naming_the_file_when_a_hash_does_not_match()
    {
        var bytes = File.ReadAllBytes(FileOf(CheckpointLayout.ModelFile));
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(FileOf(CheckpointLayout.ModelFile), bytes);

        var exception = Assert.Throws<CorruptCheckpointException>(() => CheckpointReader.Load(_record.Directory));

        Assert.Equal(CheckpointLayout.ModelFile, exception.File);
        Assert.Equal(_record.Directory, exception.Directory);
        Assert.Contains("hash mismatch", exception.Message);
        Assert.Contains(_record.Directory, exception.Message);
    }

    [Fact]
    public void Should_describe_a_checkpoint_as_load_does_and_verify_the_optimizer_state_it_does_not_load()
    {
        var description = CheckpointReader.Describe(_record.Directory);
        using (var payload = CheckpointReader.Load(_record.Directory))
        {
            Assert.Equal(payload.Step, description.Step);
            Assert.Equal(payload.Epoch, description.Epoch);
            Assert.Equal(payload.ConfigJson, description.ConfigJson);
        }
        Assert.Equal(30, description.Step);
        Assert.Equal(Path.GetFullPath(_record.Directory), description.Directory);

        var bytes = File.ReadAllBytes(FileOf(CheckpointLayout.OptimizerFile));
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(FileOf(CheckpointLayout.OptimizerFile), bytes);
        var exception = Assert.Throws<CorruptCheckpointException>(() => CheckpointReader.Describe(_record.Directory));
        Assert.Equal(CheckpointLayout.OptimizerFile, exception.File);
        Assert.Contains("hash mismatch", exception.Message);
    }

    [Fact]
    public void Should_throw_naming_the_file_when_a_file_is_truncated()
    {
        using (var stream = new FileStream(FileOf(CheckpointLayout.OptimizerFile), FileMode.Open))
        {
            stream.SetLength(stream.Length / 2);
        }

        var exception = Assert.Throws<CorruptCheckpointException>(() => CheckpointReader.Load(_record.Directory));

        Assert.Equal(CheckpointLayout.OptimizerFile, exception.File);
        Assert.Contains("truncated", exception.Message);
    }

    [Fact]
    public void Should_throw_naming_the_manifest_when_it_is_missing()
    {
        File.Delete(FileOf(CheckpointLayout.ManifestFile));

        var exception = Assert.Throws<CorruptCheckpointException>(() => CheckpointReader.Load(_record.Directory));

        Assert.Equal(CheckpointLayout.ManifestFile, exception.File);
        Assert.Contains("missing manifest", exception.Message);
    }

    [Fact]
    public void Should_throw_naming_the_file_when_a_listed_file_is_missing()
    {
        File.Delete(FileOf(CheckpointLayout.StateFile));

        var exception = Assert.Throws<CorruptCheckpointException>(() => CheckpointReader.Load(_record.Directory));

        Assert.Equal(CheckpointLayout.StateFile, exception.File);
        Assert.Contains("missing file", exception.Message);
    }

    [Fact]
    public void Should_throw_naming_state_json_when_it_does_not_parse_although_its_hash_matches()
    {
        // A manifest that agrees with the damaged file: only parsing can catch it.
        var garbage = "{\"format\": 1, \"step\": "u8.ToArray();
        File.WriteAllBytes(FileOf(CheckpointLayout.StateFile), garbage);
        var manifest = CheckpointManifest.Parse(File.ReadAllBytes(FileOf(CheckpointLayout.ManifestFile)));
        var files = manifest.Files
            .Select(entry => entry.Name == CheckpointLayout.StateFile
                ? entry with { Bytes = garbage.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(garbage)) }
                : entry)
            .ToList();
        File.WriteAllBytes(FileOf(CheckpointLayout.ManifestFile), (manifest with { Files = files }).ToUtf8Json());

        var exception = Assert.Throws<CorruptCheckpointException>(() => CheckpointReader.Load(_record.Directory));

        Assert.Equal(CheckpointLayout.StateFile, exception.File);
        Assert.Contains("unparsable state.json", exception.Message);
    }

    [Fact]
    public void Should_throw_naming_the_manifest_when_its_hash_differs_from_the_journaled_one()
    {
        var exception = Assert.Throws<CorruptCheckpointException>(() => CheckpointReader.Load(_record.Directory, new string('0', 64)));

        Assert.Equal(CheckpointLayout.ManifestFile, exception.File);
        Assert.Contains("journal", exception.Message);
        using var accepted = CheckpointReader.Load(_record.Directory, _record.ManifestSha256);
        Assert.Equal(30, accepted.Step);
    }

    [Fact]
    public void Should_throw_when_the_directory_does_not_exist()
    {
        Directory.Delete(_record.Directory, recursive: true);

        var exception = Assert.Throws<CorruptCheckpointException>(() => CheckpointReader.Load(_record.Directory));

        Assert.Contains("does not exist", exception.Message);
    }
}
