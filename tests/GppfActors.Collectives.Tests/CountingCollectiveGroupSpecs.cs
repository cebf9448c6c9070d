using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Collectives.Tests;

public class CountingCollectiveGroupSpecs
{
    [Fact]
    public void Should_count_the_bytes_of_every_tensor_passed_and_still_run_the_collective()
    {
        var hub = new InProcessCollectiveHub(epoch: 1, worldSize: 1, timeout: TimeSpan.FromSeconds(10));
        using var group = new CountingCollectiveGroup(hub.Join(0));
        using var scope = NewDisposeScope();
        var floats = ones(3, 4);                       // 12 x 4 bytes
        var doubles = ones(5, dtype: float64);         // 5 x 8 bytes

        group.AllReduceSum([floats, doubles]);
        group.Broadcast([doubles], root: 0);
        var gathered = group.AllGather(floats);
        group.Barrier();

        Assert.Equal(48 + 40 + 40 + 48, group.Bytes);
        Assert.Equal(1.0, floats[0, 0].item<float>());
        Assert.Single(gathered);
        Assert.Equal((1L, 0, 1), (group.Epoch, group.Rank, group.WorldSize));
    }
}
