using TorchSharp;
using Xunit;
namespace GppfActors.Model.Tests;

public class SmokeSpecs
{
    [Fact]
    public void Should_load_libtorch()
    {
        using var t = torch.ones(3);
        Assert.Equal(3.0f, t.sum().item<float>());
    }
}
