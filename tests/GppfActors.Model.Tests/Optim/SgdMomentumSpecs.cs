using GppfActors.Model.Optim;
using Xunit;
using static TorchSharp.torch;
using TorchSgdGroup = TorchSharp.Modules.SGD.ParamGroup;

namespace GppfActors.Model.Tests.Optim;

/// <summary>SgdMomentum against torch.optim.SGD and against hand-computed updates when some gradients are missing.</summary>
public class SgdMomentumSpecs
{
    private const double Momentum = 0.9;
    private const double WeightDecay = 0.1;

    [Fact]
    public void Should_match_torch_sgd_when_stepping_ten_times_with_varying_lr_and_random_grads()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(1234);
        var initial = OptimTestData.InitialValues(gen);
        var ours = OptimTestData.ParametersFrom(initial);
        var reference = OptimTestData.ParametersFrom(initial);
        using var optimizer = Optimizers.Create(new OptimizerConfig(OptimizerKind.Sgd, Momentum: Momentum, WeightDecay: WeightDecay), ours);
        // The reference splits the groups by hand, so it checks our decay rule as well as the update.
        using var torchSgd = optim.SGD(
            new[]
            {
                new TorchSgdGroup([reference[OptimTestData.DecayIndex].Parameter], 0.1, Momentum, 0, WeightDecay, false, false),
                new TorchSgdGroup([reference[1].Parameter, reference[2].Parameter], 0.1, Momentum, 0, 0, false, false),
            },
            0.1);

        for (var step = 0; step < 10; step++)
        {
            var lr = 0.05 * (1 + (step % 4));
            Tensor?[] grads = OptimTestData.RandomLike(gen, ours);
            // Every third step the controller gets no gradient; the reference skips it as well.
            if (step % 3 == 1)
            {
                grads[2] = null;
            }

            OptimTestData.SetGrads(ours, grads);
            OptimTestData.SetGrads(reference, grads);

            optimizer.Step(lr);
            foreach (var group in torchSgd.ParamGroups)
            {
                group.LearningRate = lr;
            }

            torchSgd.step();
        }

        Assert.True(OptimTestData.MaxAbsDiff(ours, initial) > 0.1, "parameters should have moved");
        Assert.InRange(OptimTestData.MaxAbsDiff(ours, reference), 0, 1e-6);
    }

    [Fact]
    public void Should_leave_value_and_momentum_unchanged_when_a_parameter_has_no_grad()
    {
        using var scope = NewDisposeScope();
        var weight = OptimTestData.Float64Parameter("head.weight", [1.0, -2.0], 1, 2);
        var bias = OptimTestData.Float64Parameter("head.bias", [0.0], 1);
        using var optimizer = new SgdMomentum([weight, bias], Momentum, weightDecay: 0.01);
        var weightGrad = OptimTestData.Float64([0.5, 0.25], 1, 2);
        var biasGrad = OptimTestData.Float64([1.0], 1);

        OptimTestData.SetGrads([weight, bias], [weightGrad, biasGrad]);
        optimizer.Step(0.1);
        // g = [0.5 + 0.01 * 1, 0.25 + 0.01 * -2] = [0.51, 0.23] = buf; p = [1 - 0.051, -2 - 0.023].
        AssertClose([0.949, -2.023], weight.Parameter);

        OptimTestData.SetGrads([weight, bias], [null, biasGrad]);
        optimizer.Step(0.1);
        AssertClose([0.949, -2.023], weight.Parameter);
        var state = optimizer.StateDict();
        AssertClose([0.51, 0.23], state["head.weight.momentum_buffer"]);
        // The bias did step: buf = 0.9 * 1 + 1 = 1.9, p = -0.1 - 0.19.
        AssertClose([1.9], state["head.bias.momentum_buffer"]);
        AssertClose([-0.29], bias.Parameter);

        OptimTestData.SetGrads([weight, bias], [weightGrad, biasGrad]);
        optimizer.Step(0.1);
        // g = [0.5 + 0.00949, 0.25 - 0.02023]; buf = 0.9 * [0.51, 0.23] + g = [0.96849, 0.43677];
        // p = [0.949 - 0.096849, -2.023 - 0.043677]. Had the skipped step decayed the buffer, buf would differ.
        AssertClose([0.852151, -2.066677], weight.Parameter);
    }

    [Fact]
    public void Should_not_create_state_when_a_parameter_never_had_a_grad()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(7);
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        var before = parameters[2].Parameter.detach().clone();
        using var optimizer = new SgdMomentum(parameters, Momentum, WeightDecay);
        var grads = OptimTestData.RandomLike(gen, parameters);

        OptimTestData.SetGrads(parameters, [grads[0], grads[1], null]);
        optimizer.Step(0.1);

        Assert.Equal(["head.weight.momentum_buffer", "head.bias.momentum_buffer"], optimizer.StateDict().Keys);
        Assert.True(OptimTestData.BitEqual(parameters[2].Parameter, before));
    }

    private static void AssertClose(double[] expected, Tensor actual)
    {
        var values = OptimTestData.Values(actual);
        Assert.Equal(expected.Length, values.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], values[i], 1e-12);
        }
    }
}
