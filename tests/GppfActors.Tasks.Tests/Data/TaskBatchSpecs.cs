using GppfActors.Tasks.Data;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Data;

public class TaskBatchSpecs
{
    [Fact]
    public void Should_count_its_samples_when_built()
    {
        using var batch = new TaskBatch { Images = zeros(2, 3, 8, 8), SampleIndices = [4, 9] };
        Assert.Equal(2, batch.Count);
    }
}
