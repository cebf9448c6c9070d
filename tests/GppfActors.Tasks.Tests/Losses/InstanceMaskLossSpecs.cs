using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Heads;
using GppfActors.Tasks.Losses;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Losses;

/// <summary>The mask loss's parts against hand-computed values.</summary>
public class InstanceMaskLossSpecs
{
    [Fact]
    public void Should_average_each_block_and_pad_with_background_when_bringing_masks_to_the_logit_stride()
    {
        using var scope = NewDisposeScope();
        // A 3 x 3 mask (row-major 1 1 0 / 1 0 0 / 0 0 1) on a 4 x 4 grid extent, stride 2.
        var mask = new CroppedMask(0, 0, 3, 3, [1, 1, 0, 1, 0, 0, 0, 0, 1]);

        var target = MaskTargets.Expand([mask], 4, 4, 2);

        // Blocks: top-left {1,1,1,0} = 0.75; top-right {0,_,0,_} padded = 0; bottom-left {0,0,_,_} = 0; bottom-right {1,_,_,_} = 0.25.
        Assert.Equal([1, 2, 2], target.shape);
        Assert.Equal(new[] { 0.75f, 0f, 0f, 0.25f }, target.data<float>().ToArray());
    }

    [Fact]
    public void Should_be_one_minus_twice_the_overlap_over_the_squared_sums_when_computing_the_dice_loss()
    {
        using var scope = NewDisposeScope();
        // Logit 0 everywhere (p = 0.5) against targets 1, 0: overlap 0.5, squares 0.5 + 1, loss 1 - 1 / 1.5 = 1/3.
        // A confident, right second instance: logits +-20 against 1, 0 gives nearly 0.
        var logits = tensor(new float[] { 0, 0, 20, -20 }).reshape(2, 1, 2);
        var targets = tensor(new float[] { 1, 0, 1, 0 }).reshape(2, 1, 2);

        var loss = DiceLoss.PerInstance(logits, targets).data<float>().ToArray();

        Assert.Equal(1.0 / 3, loss[0], 4);
        Assert.Equal(0, loss[1], 4);
    }
    [Theory]
    [InlineData(1, 0.0)]
    [InlineData(0, 1.0)]
    public void Should_compare_each_positive_with_the_mask_of_the_box_it_was_assigned_when_computing_the_mask_loss(long assignedBox, double expected)
    {
        // An 8 x 8 input, one level of stride 4 (a 2 x 2 grid, cells at x = 2 and 6), out stride 4 (no upsampling).
        // Location 0 (x = 2) is the only positive. Its parameters give logit 200 rel_x + 10 (rel_x = (2 - cell x) / 32):
        // +10 on the left column, -15 on the right. Box 1's mask is the left half (dice ~0), box 0's is empty (dice ~1).
        using var scope = NewDisposeScope();
        var options = new InstanceSegmentationOptions(MaskChannels: 1, DynamicChannels: 1, MaskOutStride: 4);
        var detection = new FcosLayout([new FcosLevel(2, 2, 4, 0, double.PositiveInfinity)], new InputSize(8, 8));
        var layout = new InstanceMaskLayout(detection, 1, options, SizeRangeScale: 8);
        // Weights W1 [1, 3] (rel_x, rel_y, feature), W2 [1, 1], W3 [1, 1], then biases b1, b2, b3.
        var p = new float[] { 200, 0, 0, 1, 1, 100, 0, -90 };
        Assert.Equal(options.NumDynamicParams, p.Length);
        var parameters = zeros([1, 4, p.Length]);
        parameters[0, 0] = tensor(p);
        var features = randn([1, 1, 2, 2]);
        // Box 0's mask is empty, box 1's the left half.
        IReadOnlyList<CroppedMask> masks = [CroppedMask.Empty, new CroppedMask(0, 0, 4, 8, [.. Enumerable.Repeat((byte)1, 32)])];
        var targets = new FcosTargets(
            tensor(new long[] { 0, -1, -1, -1 }).reshape(1, 4),
            zeros([1, 4, 4]),
            tensor(new float[] { 1, 0, 0, 0 }).reshape(1, 4),
            tensor(new float[] { 2, 2, 6, 2, 2, 6, 6, 6 }).reshape(4, 2),
            tensor(new long[] { assignedBox, -1, -1, -1 }).reshape(1, 4));

        var (loss, numInstances) = InstanceMaskLoss.Compute(layout, parameters, features, [masks], targets);

        Assert.Equal(1, numInstances);
        Assert.Equal(expected, loss.item<float>(), 3);
    }
}
