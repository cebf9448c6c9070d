using GppfActors.Model.Optim;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Optim;

/// <summary>Checks that optimizer steps leave no tensors alive beyond the optimizer's own state.</summary>
public class OptimizerLeakSpecs
{
    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.AdamW)]
    public void Should_keep_the_live_tensor_count_flat_when_stepping_twenty_times(OptimizerKind kind)
    {
        // Statistics are per thread and xunit runs a synchronous test on one thread, so other tests cannot disturb them.
        var stats = DisposeScopeManager.Statistics;
        using var scope = NewDisposeScope();
        var gen = new Generator(21);
        var parameters = OptimTestData.ParametersFrom(OptimTestData.InitialValues(gen));
        using var optimizer = Optimizers.Create(new OptimizerConfig(kind), parameters);
        SetFreshGrads(gen, parameters);
        var beforeFirstStep = stats.ThreadTotalLiveCount;
        optimizer.Step(0.1);
        var afterFirstStep = stats.ThreadTotalLiveCount;

        for (var step = 0; step < 20; step++)
        {
            SetFreshGrads(gen, parameters);
            optimizer.Step(0.1);
        }

        // The first step creates the state buffers, which shows the counter sees this optimizer's tensors.
        Assert.True(afterFirstStep > beforeFirstStep, $"state buffers should be counted: {beforeFirstStep} -> {afterFirstStep}");
        Assert.Equal(afterFirstStep, stats.ThreadTotalLiveCount);
    }

    private static void SetFreshGrads(Generator gen, NamedParameter[] parameters)
    {
        // The gradients live on in libtorch; only the managed handles created here are released.
        using var scope = NewDisposeScope();
        OptimTestData.SetGrads(parameters, OptimTestData.RandomLike(gen, parameters));
    }
}
