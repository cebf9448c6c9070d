using GppfActors.Model.Optim;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Optim;

/// <summary>Saving and restoring optimizer state for both kinds: exact resume, PyTorch key names, and rejection of bad checkpoints.</summary>
public class OptimizerStateDictSpecs
{
    private static OptimizerConfig Config(OptimizerKind kind) => new(kind, WeightDecay: 0.05);

    private static double Lr(int step) => 0.01 * (1 + (step % 3));

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.AdamW)]
    public void Should_continue_bit_identically_when_state_is_loaded_into_a_fresh_optimizer(OptimizerKind kind)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(99);
        var original = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        var grads = Enumerable.Range(0, 6).Select(_ => OptimTestData.RandomLike(gen, original)).ToArray();
        using var first = Optimizers.Create(Config(kind), original);
        for (var step = 0; step < 3; step++)
        {
            // The controller misses one step, so per-parameter step counts differ in the saved state.
            OptimTestData.SetGrads(original, [grads[step][0], grads[step][1], step == 1 ? null : grads[step][2]]);
            first.Step(Lr(step));
        }

        var resumed = OptimTestData.ParametersFrom(original.Select(p => (Tensor)p.Parameter).ToArray());
        using var second = Optimizers.Create(Config(kind), resumed);
        second.LoadStateDict(first.StateDict());
        for (var step = 3; step < 6; step++)
        {
            OptimTestData.SetGrads(original, grads[step]);
            OptimTestData.SetGrads(resumed, grads[step]);
            first.Step(Lr(step));
            second.Step(Lr(step));
        }

        for (var i = 0; i < original.Length; i++)
        {
            Assert.True(OptimTestData.BitEqual(original[i].Parameter, resumed[i].Parameter), original[i].Name);
        }
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, new[] { "head.weight.momentum_buffer", "head.bias.momentum_buffer" })]
    [InlineData(OptimizerKind.AdamW, new[] { "head.weight.exp_avg", "head.weight.exp_avg_sq", "head.weight.step", "head.bias.exp_avg", "head.bias.exp_avg_sq", "head.bias.step" })]
    public void Should_list_only_parameters_with_state_when_one_never_had_a_grad(OptimizerKind kind, string[] expectedKeys)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(5);
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        using var optimizer = Optimizers.Create(Config(kind), parameters);
        var grads = OptimTestData.RandomLike(gen, parameters);
        OptimTestData.SetGrads(parameters, [grads[0], grads[1], null]);

        optimizer.Step(0.1);

        Assert.Equal(expectedKeys, optimizer.StateDict().Keys);
    }

    [Fact]
    public void Should_store_the_step_as_an_int64_scalar_when_saving_adamw_state()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(6);
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        using var optimizer = Optimizers.Create(Config(OptimizerKind.AdamW), parameters);
        OptimTestData.SetGrads(parameters, OptimTestData.RandomLike(gen, parameters));
        optimizer.Step(0.1);
        optimizer.Step(0.1);

        var step = optimizer.StateDict()["head.weight.step"];

        Assert.Equal(ScalarType.Int64, step.dtype);
        Assert.Empty(step.shape);
        Assert.Equal(2L, step.item<long>());
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.AdamW)]
    public void Should_return_copies_when_the_caller_overwrites_the_state_dict(OptimizerKind kind)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(8);
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        using var optimizer = Optimizers.Create(Config(kind), parameters);
        OptimTestData.SetGrads(parameters, OptimTestData.RandomLike(gen, parameters));
        optimizer.Step(0.1);
        var saved = optimizer.StateDict();
        var pristine = saved.ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        foreach (var value in saved.Values)
        {
            value.zero_();
        }

        foreach (var (key, value) in optimizer.StateDict())
        {
            Assert.True(OptimTestData.BitEqual(pristine[key], value), key);
        }
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, "head.weight.velocity")]
    [InlineData(OptimizerKind.Sgd, "head.gamma.momentum_buffer")]
    [InlineData(OptimizerKind.AdamW, "head.weight.momentum_buffer")]
    [InlineData(OptimizerKind.AdamW, "missing.exp_avg")]
    public void Should_throw_naming_the_key_when_loading_an_unknown_key(OptimizerKind kind, string key)
    {
        using var scope = NewDisposeScope();
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(new Generator(1)));
        using var optimizer = Optimizers.Create(Config(kind), parameters);
        var state = new Dictionary<string, Tensor> { [key] = zeros(4, 3) };

        var error = Assert.Throws<ArgumentException>(() => optimizer.LoadStateDict(state));

        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, "head.weight.momentum_buffer")]
    [InlineData(OptimizerKind.AdamW, "head.weight.exp_avg")]
    public void Should_throw_and_keep_the_old_state_when_a_loaded_shape_is_wrong(OptimizerKind kind, string key)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(2);
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        using var optimizer = Optimizers.Create(Config(kind), parameters);
        OptimTestData.SetGrads(parameters, OptimTestData.RandomLike(gen, parameters));
        optimizer.Step(0.1);
        var before = optimizer.StateDict();
        var bad = optimizer.StateDict();
        bad[key] = zeros(3, 4);

        var error = Assert.Throws<ArgumentException>(() => optimizer.LoadStateDict(bad));

        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
        var after = optimizer.StateDict();
        Assert.Equal(before.Keys, after.Keys);
        Assert.All(before, kv => Assert.True(OptimTestData.BitEqual(kv.Value, after[kv.Key]), kv.Key));
    }

    [Fact]
    public void Should_throw_naming_the_missing_key_when_adamw_state_lacks_a_step()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        using var optimizer = Optimizers.Create(Config(OptimizerKind.AdamW), parameters);
        OptimTestData.SetGrads(parameters, OptimTestData.RandomLike(gen, parameters));
        optimizer.Step(0.1);
        var state = optimizer.StateDict();
        state.Remove("head.bias.step");

        var error = Assert.Throws<ArgumentException>(() => optimizer.LoadStateDict(state));

        Assert.Contains("'head.bias.step'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_accept_a_float32_step_when_loading_a_pytorch_style_adamw_state()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(4);
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        using var optimizer = Optimizers.Create(Config(OptimizerKind.AdamW), parameters);
        OptimTestData.SetGrads(parameters, OptimTestData.RandomLike(gen, parameters));
        optimizer.Step(0.1);
        var state = optimizer.StateDict();
        // PyTorch keeps AdamW's step as a float32 scalar tensor.
        state["head.weight.step"] = tensor(7.0f);

        optimizer.LoadStateDict(state);

        Assert.Equal(7L, optimizer.StateDict()["head.weight.step"].item<long>());
    }
}
