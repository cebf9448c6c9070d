using GppfActors.Model.Checkpoints;
using Xunit;
using static GppfActors.Model.Tests.Checkpoints.CheckpointFixtures;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Checkpoints;

/// <summary>
/// <see cref="SafeTensorsFile.Save"/> under failure: leftovers of a crashed write must not get in the
/// way, and a write that fails must leave the previous checkpoint exactly as it was.
/// </summary>
public sealed class SafeTensorsFileCrashSafetySpecs : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Should_write_a_complete_file_when_a_tmp_file_from_a_crashed_write_is_present()
    {
        var path = _directory.File("model.safetensors");
        using var old = full(4, 1.0f);
        SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["w"] = old });
        // A crashed write leaves a .tmp longer than the new file, so a missing truncate would show.
        File.WriteAllBytes(path + ".tmp", Enumerable.Repeat((byte)0xAB, 4096).ToArray());
        using var fresh = arange(6, dtype: ScalarType.Float32);

        SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["w"] = fresh });

        var loaded = SafeTensorsFile.Load(path);
        try
        {
            AssertSameTensors(new Dictionary<string, Tensor> { ["w"] = fresh }, loaded);
        }
        finally
        {
            DisposeAll(loaded);
        }
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Should_leave_the_previous_file_intact_when_a_tensor_fails_part_way_through_the_write()
    {
        var path = _directory.File("model.safetensors");
        using var old = full(4, 1.0f);
        SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["w"] = old });
        var before = File.ReadAllBytes(path);
        // A meta tensor has a shape and dtype (so the header is written) but no data: copying it out
        // throws after "a" has already been written to the .tmp file.
        using var good = ones(1000);
        using var noData = empty([4], device: META);

        var error = Assert.ThrowsAny<Exception>(() => SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["a"] = good, ["z"] = noData }));
        Assert.Contains("meta tensor", error.Message, StringComparison.Ordinal);

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Should_leave_the_previous_file_intact_when_the_tmp_file_cannot_be_created()
    {
        var path = _directory.File("model.safetensors");
        using var old = full(4, 1.0f);
        SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["w"] = old });
        var before = File.ReadAllBytes(path);
        // A directory where the .tmp file must go blocks the write even for root, unlike chmod.
        Directory.CreateDirectory(path + ".tmp");
        using var fresh = zeros(4);

        Assert.ThrowsAny<Exception>(() => SafeTensorsFile.Save(path, new Dictionary<string, Tensor> { ["w"] = fresh }));

        Assert.Equal(before, File.ReadAllBytes(path));
    }
}
