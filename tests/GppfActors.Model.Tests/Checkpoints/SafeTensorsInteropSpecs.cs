using GppfActors.Model.Checkpoints;
using TorchSharp.PyBridge;
using Xunit;
using static GppfActors.Model.Tests.Checkpoints.CheckpointFixtures;

namespace GppfActors.Model.Tests.Checkpoints;

/// <summary>
/// Cross-checks <see cref="SafeTensorsFile"/> and <see cref="StateDicts"/> against an independent
/// safetensors implementation (TorchSharp.PyBridge) in both directions, so a shared misreading of
/// the format cannot hide behind our own round trip.
/// </summary>
public sealed class SafeTensorsInteropSpecs : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Should_load_through_pybridge_with_equal_values_when_we_saved_a_module()
    {
        var path = _directory.File("ours.safetensors");
        using var source = SmallNet(seed: 1);
        using var target = SmallNet(seed: 2);
        StateDicts.Save(source, path, new Dictionary<string, string> { ["format"] = "pt" });

        target.load_safetensors(path, strict: true);

        AssertSameState(StateBytes(source), StateBytes(target));
    }

    [Fact]
    public void Should_load_every_dtype_through_pybridge_with_equal_values_when_we_saved_the_file()
    {
        var path = _directory.File("ours-all.safetensors");
        var tensors = EveryDTypeAndShape(seed: 3);
        try
        {
            SafeTensorsFile.Save(path, tensors);
            var theirs = Safetensors.LoadStateDict(path);
            try
            {
                AssertSameTensors(tensors, theirs);
            }
            finally
            {
                DisposeAll(theirs);
            }
        }
        finally
        {
            DisposeAll(tensors);
        }
    }

    [Fact]
    public void Should_read_equal_values_when_pybridge_saved_a_module()
    {
        var path = _directory.File("theirs.safetensors");
        using var source = SmallNet(seed: 4);
        using var target = SmallNet(seed: 5);
        source.save_safetensors(path);

        var loaded = SafeTensorsFile.Load(path);
        try
        {
            Assert.Equal(StateBytes(source).Keys.Order(StringComparer.Ordinal), loaded.Keys.Order(StringComparer.Ordinal));
            AssertSameState(StateBytes(source), loaded.ToDictionary(pair => pair.Key, pair => BytesOf(pair.Value), StringComparer.Ordinal));
        }
        finally
        {
            DisposeAll(loaded);
        }
        StateDicts.LoadExact(target, path);
        AssertSameState(StateBytes(source), StateBytes(target));
    }

    [Fact]
    public void Should_read_every_dtype_with_equal_values_when_pybridge_saved_the_file()
    {
        var path = _directory.File("theirs-all.safetensors");
        var tensors = EveryDTypeAndShape(seed: 6);
        try
        {
            using (var stream = File.Create(path))
            {
                Safetensors.SaveStateDict(stream, tensors, leaveOpen: false);
            }
            var loaded = SafeTensorsFile.Load(path);
            try
            {
                AssertSameTensors(tensors, loaded);
            }
            finally
            {
                DisposeAll(loaded);
            }
        }
        finally
        {
            DisposeAll(tensors);
        }
    }
}
