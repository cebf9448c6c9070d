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
        var mask = tensor(new byte[] { 1, 1, 0, 1, 0, 0, 0, 0, 1 }).reshape(1, 3, 3);

        var target = MaskTargets.Downsample(mask, 4, 4, 2);

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
}
