using GppfActors.Tasks.Losses;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Losses;

/// <summary>Classification and segmentation cross-entropies against libtorch's own implementations.</summary>
public class ClassificationLossSpecs
{
    [Fact]
    public void Should_equal_libtorch_label_smoothing_when_smoothing_hard_labels()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        var logits = randn([5, 4], generator: g);
        var labels = tensor(new long[] { 0, 3, 1, 1, 2 });

        var ours = ClassificationLoss.CrossEntropy(logits, labels, 0.1);
        var reference = nn.functional.cross_entropy(logits, labels, label_smoothing: 0.1);

        Assert.Equal(reference.item<float>(), ours.item<float>(), 5);
    }

    [Fact]
    public void Should_put_one_minus_smoothing_plus_share_on_the_label_when_smoothing()
    {
        using var scope = NewDisposeScope();

        var targets = ClassificationLoss.SmoothedTargets(tensor(new long[] { 2 }), 4, 0.1);

        var row = targets[0].data<float>().ToArray();
        Assert.Equal([0.025, 0.025, 0.925, 0.025], row.Select(v => Math.Round(v, 6)));
    }

    [Fact]
    public void Should_ignore_label_255_when_averaging_segmentation_cross_entropy()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(4);
        var logits = randn([1, 3, 2, 2], generator: g);
        var masks = tensor(new long[] { 0, 255, 2, 1 }, [1, 2, 2]);

        var ours = SegmentationLoss.CrossEntropy(logits, masks);
        // Reference: plain cross-entropy over the three labelled pixels only.
        var pixels = logits.permute(0, 2, 3, 1).reshape(4, 3).index_select(0, tensor(new long[] { 0, 2, 3 }));
        var reference = nn.functional.cross_entropy(pixels, tensor(new long[] { 0, 2, 1 }));

        Assert.Equal(reference.item<float>(), ours.item<float>(), 5);
    }

    [Fact]
    public void Should_give_zero_when_every_pixel_is_ignored()
    {
        using var scope = NewDisposeScope();
        var logits = zeros([1, 3, 2, 2], requires_grad: true);

        var loss = SegmentationLoss.CrossEntropy(logits, full([1, 2, 2], 255L));
        loss.backward();

        Assert.Equal(0f, loss.item<float>());
        Assert.False(logits.grad!.isnan().any().item<bool>());
    }
}
