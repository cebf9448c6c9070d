using GppfActors.Model.Optim;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Optim;

/// <summary>The weight-decay grouping rule: only multi-dimensional, non-controller parameters decay.</summary>
public class ParameterGroupsSpecs
{
    [Theory]
    [InlineData("backbone.conv1.weight", new long[] { 8, 3, 3, 3 }, true)]
    [InlineData("heads.seg.linear.weight", new long[] { 4, 8 }, true)]
    [InlineData("backbone.conv1.bias", new long[] { 8 }, false)]
    [InlineData("backbone.bn1.weight", new long[] { 8 }, false)]
    [InlineData("backbone.scale", new long[0], false)]
    [InlineData("controllers.task0.logits", new long[] { 16, 2 }, false)]
    [InlineData("backbone.controllers.weight", new long[] { 4, 4 }, true)]
    public void Should_decide_decay_from_rank_and_name_when_grouping(string name, long[] shape, bool expected)
    {
        using var scope = NewDisposeScope();
        var parameter = new Parameter(zeros(shape));

        Assert.Equal(expected, ParameterGroups.UsesWeightDecay(name, parameter));
    }

    [Fact]
    public void Should_throw_when_two_parameters_share_a_name()
    {
        using var scope = NewDisposeScope();
        NamedParameter[] parameters = [new("a.weight", new Parameter(zeros(2, 2))), new("a.weight", new Parameter(zeros(2, 2)))];

        var error = Assert.Throws<ArgumentException>(() => Optimizers.Create(new OptimizerConfig(OptimizerKind.Sgd), parameters));

        Assert.Contains("'a.weight'", error.Message, StringComparison.Ordinal);
    }
}
