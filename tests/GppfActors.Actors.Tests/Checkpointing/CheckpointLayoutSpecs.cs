using GppfActors.Actors.Checkpointing;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public class CheckpointLayoutSpecs
{
    [Fact]
    public void Should_zero_pad_steps_so_names_sort_in_step_order_when_formatting()
    {
        Assert.Equal("step-00000120", CheckpointLayout.DirectoryName(120));
        Assert.Equal("step-00000120.tmp", CheckpointLayout.TemporaryDirectoryName(120));
        long[] steps = [1000, 5, 120, 99_999_999, 0];
        var names = steps.Select(CheckpointLayout.DirectoryName).Order(StringComparer.Ordinal);
        Assert.Equal(steps.Order().Select(CheckpointLayout.DirectoryName), names);
    }

    [Theory]
    [InlineData("step-00000120", true, 120, "")]
    [InlineData("step-00000120.tmp", true, 120, ".tmp")]
    [InlineData("step-00000007.deleting", true, 7, ".deleting")]
    [InlineData("step-123456789", true, 123456789, "")]
    [InlineData("step-", false, -1, "")]
    [InlineData("step-12a", false, -1, "")]
    [InlineData("step--12", false, -1, "")]
    [InlineData("step-12.bak", false, -1, "")]
    [InlineData("journal.db", false, -1, "")]
    public void Should_parse_only_names_the_layout_makes_when_parsing(string name, bool parsed, long step, string suffix)
    {
        Assert.Equal(parsed, CheckpointLayout.TryParse(name, out var actualStep, out var actualSuffix));
        Assert.Equal(step, actualStep);
        Assert.Equal(parsed ? suffix : "", actualSuffix);
    }
}
