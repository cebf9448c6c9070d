using GppfActors.Model.Checkpoints;
using TorchSharp;
using Xunit;
using static GppfActors.Model.Tests.Checkpoints.CheckpointFixtures;

namespace GppfActors.Model.Tests.Checkpoints;

/// <summary>Checkpoint saving and loading must not leak tensors: a trainer checkpoints thousands of times.</summary>
public sealed class CheckpointLeakSpecs : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Should_keep_the_live_tensor_count_flat_when_saving_and_loading_ten_times()
    {
        var modulePath = _directory.File("net.safetensors");
        var tensorsPath = _directory.File("all.safetensors");
        using var source = SmallNet(seed: 1);
        using var target = SmallNet(seed: 2);
        var tensors = EveryDTypeAndShape(seed: 3);
        try
        {
            // Per-thread and exact since TorchSharp 0.103, so tests running in parallel do not disturb it.
            var counts = new List<long>();
            for (var cycle = 0; cycle < 10; cycle++)
            {
                StateDicts.Save(source, modulePath);
                StateDicts.LoadExact(target, modulePath);
                SafeTensorsFile.Save(tensorsPath, tensors);
                DisposeAll(SafeTensorsFile.Load(tensorsPath));
                counts.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            }

            Assert.All(counts, count => Assert.Equal(counts[0], count));

            // The probe itself must see a leak, or a flat count would prove nothing.
            var leaked = SafeTensorsFile.Load(tensorsPath);
            Assert.Equal(counts[0] + leaked.Count, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            DisposeAll(leaked);
        }
        finally
        {
            DisposeAll(tensors);
        }
    }
}
