using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Heads;
using GppfActors.Tasks.Losses;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Losses;

/// <summary>Focal loss, GIoU and the FCOS loss against hand computations.</summary>
public class DetectionLossSpecs
{
    [Fact]
    public void Should_weight_by_alpha_and_focus_when_computing_sigmoid_focal_loss()
    {
        // x = 0: p = 0.5, BCE = ln 2, (1 - p_t)^2 = 1/4.
        //   target 1: 0.25 * 1/4 * ln 2 = 0.0433217; target 0: 0.75 * 1/4 * ln 2 = 0.1299651.
        using var scope = NewDisposeScope();
        var loss = FocalLoss.SigmoidSum(zeros(2), tensor(new float[] { 1, 0 }), 0.25, 2.0);

        Assert.Equal((0.25 + 0.75) / 4 * Math.Log(2), loss.item<float>(), 5);
    }

    [Fact]
    public void Should_match_hand_values_when_computing_giou()
    {
        // Same box: 1. Disjoint (0,0)-(1,1) vs (2,0)-(3,1): IoU 0, hull 3, union 2 -> -1/3.
        // Overlapping (0,0)-(2,2) vs (1,1)-(3,3): IoU 1/7, hull 9, union 7 -> 1/7 - 2/9 = -0.0793651.
        using var scope = NewDisposeScope();
        var predicted = tensor(new float[] { 0, 0, 2, 2, 0, 0, 1, 1, 0, 0, 2, 2 }, [3, 4]);
        var target = tensor(new float[] { 0, 0, 2, 2, 2, 0, 3, 1, 1, 1, 3, 3 }, [3, 4]);

        var giou = GiouLoss.Giou(predicted, target).data<float>().ToArray();

        Assert.Equal(1.0, giou[0], 5);
        Assert.Equal(-1.0 / 3, giou[1], 5);
        Assert.Equal(1.0 / 7 - 2.0 / 9, giou[2], 5);
    }

    [Fact]
    public void Should_stay_finite_and_only_classify_when_no_location_is_positive()
    {
        using var scope = NewDisposeScope();
        var layout = new FcosLayout([new FcosLevel(2, 2, 4, 0, double.PositiveInfinity)], new InputSize(8, 8));
        var output = zeros([1, 4, 3 + 5], requires_grad: true);
        var targets = FcosTargetAssigner.Assign(layout, [zeros([0, 4])], [zeros([0], int64)], CPU);

        var terms = FcosLoss.Compute(output, targets, 3, new DetectionOptions());
        terms.Total.backward();

        Assert.Equal(0f, terms.NumPositives.item<float>());
        Assert.Equal(0f, terms.Box.item<float>());
        Assert.Equal(0f, terms.Centerness.item<float>());
        // 12 negatives at x = 0: 12 * 0.75 / 4 * ln 2, divided by max(positives, 1) = 1.
        Assert.Equal(12 * 0.75 / 4 * Math.Log(2), terms.Classification.item<float>(), 4);
        Assert.False(output.grad!.isnan().any().item<bool>());
    }

    [Fact]
    public void Should_give_zero_box_loss_when_the_predicted_distances_equal_the_targets()
    {
        using var scope = NewDisposeScope();
        var layout = new FcosLayout([new FcosLevel(2, 2, 4, 0, double.PositiveInfinity)], new InputSize(8, 8));
        var targets = FcosTargetAssigner.Assign(layout, [tensor(new float[] { 0, 0, 5, 5 }, [1, 4])], [tensor(new long[] { 1 })], CPU);
        // Channels: 2 class logits, the target distances, a centerness logit.
        var output = cat([zeros([1, 4, 2]), targets.Distances, zeros([1, 4, 1])], 2);

        var terms = FcosLoss.Compute(output, targets, 2, new DetectionOptions());

        Assert.Equal(1f, terms.NumPositives.item<float>());                 // only (2,2) lies inside (0,0)-(5,5)
        Assert.Equal(0.0, terms.Box.item<float>(), 5);
    }
}
