using GppfActors.Model.Optim;
using Xunit;
using static TorchSharp.torch;
using TorchAdamWGroup = TorchSharp.Modules.AdamW.ParamGroup;

namespace GppfActors.Model.Tests.Optim;

/// <summary>AdamW against torch.optim.AdamW and against hand-computed updates when some gradients are missing.</summary>
public class AdamWSpecs
{
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.999;
    private const double Eps = 1e-8;
    private const double WeightDecay = 0.1;

    [Fact]
    public void Should_match_torch_adamw_when_stepping_ten_times_with_varying_lr_and_random_grads()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(4321);
        var initial = OptimTestData.InitialValues(gen);
        var ours = OptimTestData.ParametersFrom(initial);
        var reference = OptimTestData.ParametersFrom(initial);
        using var optimizer = Optimizers.Create(new OptimizerConfig(OptimizerKind.AdamW, WeightDecay: WeightDecay), ours);
        // The reference splits the groups by hand, so it checks our decay rule as well as the update.
        using var torchAdamW = optim.AdamW(
            new[]
            {
                new TorchAdamWGroup([reference[OptimTestData.DecayIndex].Parameter], 0.01, Beta1, Beta2, Eps, WeightDecay, false, false),
                new TorchAdamWGroup([reference[1].Parameter, reference[2].Parameter], 0.01, Beta1, Beta2, Eps, 0, false, false),
            },
            0.01);

        for (var step = 0; step < 10; step++)
        {
            var lr = 0.01 * (1 + (step % 4));
            Tensor?[] grads = OptimTestData.RandomLike(gen, ours);
            // Every third step the controller gets no gradient; the reference skips it as well.
            if (step % 3 == 1)
            {
                grads[2] = null;
            }

            OptimTestData.SetGrads(ours, grads);
            OptimTestData.SetGrads(reference, grads);

            optimizer.Step(lr);
            foreach (var group in torchAdamW.ParamGroups)
            {
                group.LearningRate = lr;
            }

            torchAdamW.step();
        }

        Assert.True(OptimTestData.MaxAbsDiff(ours, initial) > 0.05, "parameters should have moved");
        Assert.InRange(OptimTestData.MaxAbsDiff(ours, reference), 0, 1e-6);
    }

    [Fact]
    public void Should_leave_value_moments_and_step_count_unchanged_when_a_parameter_has_no_grad()
    {
        using var scope = NewDisposeScope();
        var weight = OptimTestData.Float64Parameter("head.weight", [1.0], 1, 1);
        var bias = OptimTestData.Float64Parameter("head.bias", [0.0], 1);
        using var optimizer = new AdamW([weight, bias], weightDecay: 0.01, Beta1, Beta2, Eps);
        var weightGrad = OptimTestData.Float64([0.5], 1, 1);
        var biasGrad = OptimTestData.Float64([1.0], 1);

        OptimTestData.SetGrads([weight, bias], [weightGrad, biasGrad]);
        optimizer.Step(0.1);
        // t = 1: p = 1 * (1 - 0.1 * 0.01); m = 0.05; v = 0.00025; m_hat = 0.5; sqrt(v_hat) = 0.5.
        var afterFirst = (1 * 0.999) - (0.1 * (0.05 / 0.1) / ((Math.Sqrt(0.00025) / Math.Sqrt(0.001)) + Eps));
        Assert.Equal(afterFirst, OptimTestData.Values(weight.Parameter)[0], 1e-12);

        OptimTestData.SetGrads([weight, bias], [null, biasGrad]);
        optimizer.Step(0.1);
        Assert.Equal(afterFirst, OptimTestData.Values(weight.Parameter)[0], 1e-12);
        var state = optimizer.StateDict();
        Assert.Equal(1L, state["head.weight.step"].item<long>());
        Assert.Equal(0.05, OptimTestData.Values(state["head.weight.exp_avg"])[0], 1e-12);
        Assert.Equal(0.00025, OptimTestData.Values(state["head.weight.exp_avg_sq"])[0], 1e-12);
        Assert.Equal(2L, state["head.bias.step"].item<long>());

        OptimTestData.SetGrads([weight, bias], [weightGrad, biasGrad]);
        optimizer.Step(0.1);
        // t = 2 for this parameter (3 for the optimizer as a whole): m = 0.095, v = 0.00049975,
        // bias corrections 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999. With t = 3 the update would be ~0.086, not ~0.1.
        var denom = (Math.Sqrt(0.00049975) / Math.Sqrt(0.001999)) + Eps;
        var afterThird = (afterFirst * 0.999) - (0.1 / 0.19 * 0.095 / denom);
        Assert.Equal(afterThird, OptimTestData.Values(weight.Parameter)[0], 1e-12);
        Assert.Equal(2L, optimizer.StateDict()["head.weight.step"].item<long>());
    }

    [Fact]
    public void Should_not_decay_a_parameter_when_its_grad_is_null()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(11);
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        var before = parameters[OptimTestData.DecayIndex].Parameter.detach().clone();
        // A large decay would visibly shrink the weight if decay ran regardless of the gradient.
        using var optimizer = new AdamW(parameters, weightDecay: 0.5);
        var grads = OptimTestData.RandomLike(gen, parameters);

        OptimTestData.SetGrads(parameters, [null, grads[1], grads[2]]);
        optimizer.Step(0.1);

        Assert.True(OptimTestData.BitEqual(parameters[OptimTestData.DecayIndex].Parameter, before));
        Assert.DoesNotContain("head.weight.step", optimizer.StateDict().Keys);
    }
}
