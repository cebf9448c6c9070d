using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Losses;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Losses;

/// <summary>Mixup and cutmix: label mass, the pasted area against lambda, reproducibility, and the Beta draws.</summary>
public class MixupCutmixSpecs
{
    // Sample 0 is all 0, sample 1 all 1; each is mixed with the other (the reversed batch).
    private static Tensor ZerosAndOnes(int size = 16) => cat([zeros([1, 3, size, size]), ones([1, 3, size, size])], 0);

    private static Tensor Labels() => tensor(new long[] { 0, 2 });

    [Fact]
    public void Should_paste_an_area_of_one_minus_lambda_when_applying_cutmix()
    {
        var options = new ClassificationOptions(LabelSmoothing: 0, MixupAlpha: 0, CutmixAlpha: 1.0);
        int boxesSeen = 0;
        for (ulong seed = 0; seed < 20; seed++)
        {
            using var scope = NewDisposeScope();
            using var g = new Generator(seed);

            var mix = MixupCutmix.Apply(ZerosAndOnes(), Labels(), 3, options, g);

            Assert.Equal(MixKind.Cutmix, mix.Kind);
            double pasted = mix.Images[0].mean().item<float>();            // share of sample 1's ones in sample 0
            Assert.Equal(1 - mix.Lambda, pasted, 6);
            Assert.Equal(mix.CutBox!.Value.Area / 256.0, 1 - mix.Lambda, 12);
            // Without smoothing sample 0's target is lambda on its class and 1 - lambda on its partner's.
            Assert.Equal(mix.Lambda, mix.Targets[0, 0].item<float>(), 6);
            Assert.Equal(1 - mix.Lambda, mix.Targets[0, 2].item<float>(), 6);
            AssertRowsSumToOne(mix.Targets);
            boxesSeen += mix.CutBox.Value.Area > 0 ? 1 : 0;
        }
        Assert.True(boxesSeen >= 15, $"only {boxesSeen} of 20 draws pasted anything");
    }

    [Fact]
    public void Should_blend_pixels_and_labels_by_lambda_when_applying_mixup()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(8);
        var options = new ClassificationOptions(MixupAlpha: 0.8, CutmixAlpha: 0);

        var mix = MixupCutmix.Apply(ZerosAndOnes(), Labels(), 3, options, g);

        Assert.Equal(MixKind.Mixup, mix.Kind);
        Assert.InRange(mix.Lambda, 0, 1);
        Assert.Equal(1 - mix.Lambda, mix.Images[0].mean().item<float>(), 5);
        Assert.Equal(mix.Lambda, mix.Images[1].mean().item<float>(), 5);
        // Smoothed (0.1) then mixed: sample 0 holds lambda * 0.9333 + 0.0333 on class 0.
        Assert.Equal(mix.Lambda * (0.9 + 0.1 / 3) + (1 - mix.Lambda) * (0.1 / 3), mix.Targets[0, 0].item<float>(), 5);
        AssertRowsSumToOne(mix.Targets);
    }

    [Fact]
    public void Should_switch_between_mixup_and_cutmix_and_repeat_exactly_when_seeded_alike()
    {
        var kinds = new List<MixKind>();
        for (ulong seed = 0; seed < 40; seed++)
        {
            using var scope = NewDisposeScope();
            using var g1 = new Generator(seed);
            using var g2 = new Generator(seed);
            var first = MixupCutmix.Apply(ZerosAndOnes(), Labels(), 3, new ClassificationOptions(), g1);
            var second = MixupCutmix.Apply(ZerosAndOnes(), Labels(), 3, new ClassificationOptions(), g2);
            Assert.Equal(first.Lambda, second.Lambda);
            Assert.True(first.Images.eq(second.Images).all().item<bool>());
            kinds.Add(first.Kind);
        }
        // Switch probability 0.5 over 40 batches: both kinds appear (the chance of missing one is 2e-12).
        Assert.Contains(MixKind.Mixup, kinds);
        Assert.Contains(MixKind.Cutmix, kinds);
        Assert.DoesNotContain(MixKind.None, kinds);
    }

    [Fact]
    public void Should_leave_the_batch_unmixed_when_the_mix_probability_is_zero()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(1);
        var images = ZerosAndOnes();

        var mix = MixupCutmix.Apply(images, Labels(), 3, new ClassificationOptions(MixProbability: 0), g);

        Assert.Equal(MixKind.None, mix.Kind);
        Assert.Equal(1.0, mix.Lambda);
        Assert.True(mix.Images.eq(images).all().item<bool>());
        AssertRowsSumToOne(mix.Targets);
    }

    [Theory]
    [InlineData(0.8)]
    [InlineData(1.0)]
    [InlineData(2.5)]
    public void Should_match_the_beta_moments_when_drawing_lambda(double alpha)
    {
        // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)).
        using var g = new Generator(42);
        var draws = Enumerable.Range(0, 4000).Select(_ => RandomDraws.Beta(g, alpha, alpha)).ToArray();

        double mean = draws.Average();
        double variance = draws.Select(x => (x - mean) * (x - mean)).Average();

        Assert.All(draws, x => Assert.InRange(x, 0, 1));
        Assert.Equal(0.5, mean, 1.5e-2);
        Assert.Equal(1 / (4 * (2 * alpha + 1)), variance, 1e-2);
    }

    private static void AssertRowsSumToOne(Tensor targets)
    {
        foreach (var sum in targets.sum(1).data<float>().ToArray())
        {
            Assert.Equal(1.0, sum, 5);
        }
    }
}
