using GppfActors.Tasks.Data;
using Xunit;

namespace GppfActors.Tasks.Tests.Data;

public class LoaderOptionsSpecs
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(86_401.0)]
    public void Should_reject_the_time_out_naming_it_when_it_is_not_a_usable_duration(double timeoutSeconds)
    {
        var e = Assert.Throws<ArgumentException>(() => new LoaderOptions { TimeoutSeconds = timeoutSeconds }.Validate());

        Assert.Contains("TimeoutSeconds", e.Message);
    }

    [Fact]
    public void Should_refuse_pinned_memory_naming_cuda_when_the_process_has_no_cuda()
    {
        Assert.False(TorchSharp.torch.cuda.is_available(), "this spec describes a process without CUDA");

        var e = Assert.Throws<ArgumentException>(() => new LoaderOptions { PinMemory = true }.Validate());

        Assert.Contains("PinMemory needs CUDA", e.Message);
        Assert.False(new LoaderOptions().Validate().PinMemory);
    }

    [Fact]
    public void Should_default_to_a_time_out_below_the_default_collective_time_out_when_not_set()
    {
        // collectives.timeout_seconds defaults to 60 s (actors' CoordinatorSettings, cluster-config's
        // CollectivesSection; tasks cannot reference either). A loader that waited longer would let every other
        // device fail at the collective with no file named, before this loader could name the slow file.
        const double defaultCollectiveTimeoutSeconds = 60;

        var options = new LoaderOptions().Validate();

        Assert.InRange(options.TimeoutSeconds, 1, defaultCollectiveTimeoutSeconds / 2);
    }
}
