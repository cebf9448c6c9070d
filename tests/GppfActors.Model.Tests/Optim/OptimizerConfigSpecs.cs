using GppfActors.Model.Optim;
using Xunit;

namespace GppfActors.Model.Tests.Optim;

/// <summary>Validation of the optimizer config section: defaults pass, each bad key is named in the error.</summary>
public class OptimizerConfigSpecs
{
    public static TheoryData<OptimizerConfig, string> InvalidConfigs => new()
    {
        { new OptimizerConfig(OptimizerKind.Sgd, Momentum: 1.5), "optimizer.momentum must be in [0, 1), got 1.5" },
        { new OptimizerConfig(OptimizerKind.Sgd, Momentum: double.NaN), "optimizer.momentum must be in [0, 1), got NaN" },
        { new OptimizerConfig(OptimizerKind.Sgd, WeightDecay: -0.1), "optimizer.weight_decay must be finite and >= 0, got -0.1" },
        { new OptimizerConfig(OptimizerKind.AdamW, Beta1: 1.0), "optimizer.beta1 must be in [0, 1), got 1" },
        { new OptimizerConfig(OptimizerKind.AdamW, Beta2: -0.5), "optimizer.beta2 must be in [0, 1), got -0.5" },
        { new OptimizerConfig(OptimizerKind.AdamW, Eps: 0), "optimizer.eps must be finite and > 0, got 0" },
        { new OptimizerConfig((OptimizerKind)7), "optimizer.kind must be one of Sgd, AdamW, got 7" },
    };

    [Theory]
    [MemberData(nameof(InvalidConfigs))]
    public void Should_throw_naming_the_key_when_a_value_is_out_of_range(OptimizerConfig config, string expectedMessage)
    {
        var error = Assert.Throws<ArgumentException>(config.Validate);

        Assert.Equal(expectedMessage, error.Message);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.AdamW)]
    public void Should_accept_the_defaults_when_only_the_kind_is_given(OptimizerKind kind)
    {
        var config = new OptimizerConfig(kind);

        config.Validate();

        Assert.Equal((0.9, 5e-4, 0.9, 0.999, 1e-8), (config.Momentum, config.WeightDecay, config.Beta1, config.Beta2, config.Eps));
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, typeof(SgdMomentum))]
    [InlineData(OptimizerKind.AdamW, typeof(AdamW))]
    public void Should_build_the_matching_optimizer_when_the_config_is_valid(OptimizerKind kind, Type expected)
    {
        using var optimizer = Optimizers.Create(new OptimizerConfig(kind), []);

        Assert.IsType(expected, optimizer);
    }

    [Fact]
    public void Should_refuse_to_build_when_the_config_is_invalid()
    {
        var error = Assert.Throws<ArgumentException>(() => Optimizers.Create(new OptimizerConfig(OptimizerKind.Sgd, Momentum: -1), []));

        Assert.StartsWith("optimizer.momentum", error.Message, StringComparison.Ordinal);
    }
}
