using System.Text;
using GppfActors.Model.Checkpoints;
using Xunit;
using static GppfActors.Model.Tests.Checkpoints.CheckpointFixtures;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Checkpoints;

/// <summary>Saving a module's state dict and loading it back all-or-nothing with <see cref="StateDicts"/>.</summary>
public sealed class StateDictsSpecs : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Should_write_pytorch_style_keys_with_buffers_when_saving_a_module()
    {
        var path = _directory.File("net.safetensors");
        using var net = SmallNet(seed: 1);

        StateDicts.Save(net, path, new Dictionary<string, string> { ["step"] = "42" });

        var header = SafeTensorsFile.ReadHeader(path);
        Assert.Equal(
            ["0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight", "2.bias", "2.weight"],
            header.Names);
        Assert.True(header.TryGet("1.num_batches_tracked", out var counter));
        Assert.Equal("I64", counter.DType);
        Assert.Equal("42", header.Metadata["step"]);
    }

    [Fact]
    public void Should_restore_every_parameter_and_buffer_when_the_file_matches_the_module()
    {
        var path = _directory.File("net.safetensors");
        using var source = SmallNet(seed: 1);
        using var target = SmallNet(seed: 2);
        StateDicts.Save(source, path);

        StateDicts.LoadExact(target, path);

        AssertSameState(StateBytes(source), StateBytes(target));
    }

    [Fact]
    public void Should_report_all_missing_unexpected_and_mismatched_keys_and_change_nothing_when_the_file_does_not_match()
    {
        var path = _directory.File("wrong.safetensors");
        using var net = SmallNet(seed: 3);
        var before = StateBytes(net);
        using var wrongShape = zeros(2, 3);
        using var wrongDType = zeros(3, dtype: ScalarType.Float64);
        using var extra = zeros(1);
        var file = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["2.weight"] = wrongShape,
            ["2.bias"] = wrongDType,
            ["3.weight"] = extra,
        };
        using var scope = NewDisposeScope();
        foreach (var (name, tensor) in net.state_dict())
        {
            // Every 0.* and 1.* key is correct, so the copy would start if only the first problem stopped it.
            if (!name.StartsWith("2.", StringComparison.Ordinal) && name != "0.bias" && name != "1.running_var")
            {
                file[name] = zeros_like(tensor);
            }
        }
        SafeTensorsFile.Save(path, file);

        var error = Assert.Throws<InvalidDataException>(() => StateDicts.LoadExact(net, path));

        Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("missing keys (in the module, not the file): 0.bias, 1.running_var", error.Message, StringComparison.Ordinal);
        Assert.Contains("unexpected keys (in the file, not the module): 3.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("'2.weight' is F32[2, 3] in the file but F32[3, 2] in the module", error.Message, StringComparison.Ordinal);
        Assert.Contains("'2.bias' is F64[3] in the file but F32[3] in the module", error.Message, StringComparison.Ordinal);
        AssertSameState(before, StateBytes(net));
    }

    [Fact]
    public void Should_change_nothing_when_the_file_is_corrupt()
    {
        var path = _directory.File("corrupt.safetensors");
        using var source = SmallNet(seed: 4);
        using var target = SmallNet(seed: 5);
        StateDicts.Save(source, path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        var before = StateBytes(target);

        var error = Assert.Throws<InvalidDataException>(() => StateDicts.LoadExact(target, path));

        Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
        AssertSameState(before, StateBytes(target));
    }

    [Fact]
    public void Should_match_the_published_sha256_test_vector_when_hashing_a_file()
    {
        var path = _directory.File("abc.txt");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("abc"));

        // FIPS 180-2, appendix B.1: SHA-256("abc").
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", StateDicts.Sha256Hex(path));
    }
}
