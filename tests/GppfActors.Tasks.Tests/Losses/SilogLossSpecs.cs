using GppfActors.Tasks.Losses;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Losses;

/// <summary>SILog against a hand computation, over valid pixels only (a measurement inside the depth range).</summary>
public class SilogLossSpecs
{
    [Fact]
    public void Should_equal_the_hand_computation_when_one_pixel_has_no_measurement()
    {
        // gt 2, 4, 0, 10; prediction 2, 4.4, 7, 13 -> d = ln(p / g) over valid pixels = 0, ln 1.1, ln 1.3
        //   mean d = (0 + 0.0953102 + 0.2623643) / 3 = 0.1192248
        //   mean d^2 = (0 + 0.0090840 + 0.0688351) / 3 = 0.0259730
        //   10 * sqrt(0.0259730 - 0.85 * 0.1192248^2) = 10 * sqrt(0.0138906) = 1.178586
        using var scope = NewDisposeScope();
        var predicted = tensor(new float[] { 2, 4.4f, 7, 13 }, [1, 1, 2, 2]);
        var truth = tensor(new float[] { 2, 4, 0, 10 }, [1, 1, 2, 2]);

        var loss = SilogLoss.Compute(predicted, truth, 0.85, 10, 1e-3, 80);

        Assert.Equal(1.178586, loss.item<float>(), 5);
    }

    [Fact]
    public void Should_leave_out_ground_truth_beyond_the_max_depth_rather_than_clamp_it()
    {
        // The same four pixels plus 25 m and 40 m beyond the 20 m cap, whose predictions (20, 3) would change the value
        // if they counted: the loss is the hand computation above, 1.178586 at scale 10.
        using var scope = NewDisposeScope();
        var predicted = tensor(new float[] { 2, 4.4f, 7, 13, 20, 3 }, [1, 1, 2, 3]);
        var truth = tensor(new float[] { 2, 4, 0, 10, 25, 40 }, [1, 1, 2, 3]);

        var loss = SilogLoss.Compute(predicted, truth, 0.85, 10, 1e-3, 20);

        Assert.Equal(1.178586, loss.item<float>(), 5);
    }

    [Fact]
    public void Should_be_zero_for_any_global_scale_when_lambda_is_one()
    {
        // With lambda = 1 the loss is the standard deviation of d: a constant factor on depth costs nothing.
        using var scope = NewDisposeScope();
        var truth = tensor(new float[] { 2, 4, 8, 10 }, [1, 1, 2, 2]);

        var loss = SilogLoss.Compute(truth * 3, truth, 1.0, 10, 1e-3, 80);

        Assert.Equal(0.0, loss.item<float>(), 4);
    }

    [Fact]
    public void Should_give_zero_loss_and_finite_gradients_when_no_pixel_is_measured()
    {
        using var scope = NewDisposeScope();
        var predicted = full([1, 1, 2, 2], 3f, requires_grad: true);

        var loss = SilogLoss.Compute(predicted, zeros([1, 1, 2, 2]), 0.85, 10, 1e-3, 80);
        loss.backward();

        Assert.Equal(0f, loss.item<float>());
        Assert.False(predicted.grad!.isnan().any().item<bool>());
    }
}
