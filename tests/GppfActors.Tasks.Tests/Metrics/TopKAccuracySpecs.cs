using GppfActors.Tasks.Metrics;
using Xunit;

namespace GppfActors.Tasks.Tests.Metrics;

/// <summary>Top-1 and top-5 accuracy on hand-made score rows.</summary>
public class TopKAccuracySpecs
{
    [Fact]
    public void Should_count_the_rank_of_the_true_class_when_scoring_top1_and_top5()
    {
        // 6 classes, 3 samples:
        //   sample 0, label 2: class 2 scores highest                -> rank 0: top-1 and top-5
        //   sample 1, label 0: four classes score higher              -> rank 4: top-5 only
        //   sample 2, label 5: all five others score higher           -> rank 5: neither
        float[] scores =
        [
            0.1f, 0.2f, 0.9f, 0.0f, 0.3f, 0.1f,
            0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 0.1f,
            0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f,
        ];
        var accuracy = new TopKAccuracy(1, 5);

        accuracy.Update(scores, 6, [2, 0, 5]);

        Assert.Equal(1.0 / 3, accuracy.Report()["top1"], 12);
        Assert.Equal(2.0 / 3, accuracy.Report()["top5"], 12);
    }

    [Fact]
    public void Should_accumulate_over_batches_and_not_reward_ties_twice_when_scores_are_equal()
    {
        // Batch 1: label 1 ties with class 0, which sorts first -> rank 1: not top-1.
        // Batch 2: label 0 ties with class 1 and sorts first -> rank 0: top-1.
        var accuracy = new TopKAccuracy(1);
        accuracy.Update([0.5f, 0.5f], 2, [1]);
        accuracy.Update([0.5f, 0.5f], 2, [0]);

        Assert.Equal(2, accuracy.Count);
        Assert.Equal(0.5, accuracy.Report()["top1"], 12);
    }
}
