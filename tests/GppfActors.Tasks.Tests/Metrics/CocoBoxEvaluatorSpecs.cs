using GppfActors.Tasks.Metrics;
using Xunit;

namespace GppfActors.Tasks.Tests.Metrics;

/// <summary>COCO box AP on cases small enough to work out by hand (pycocotools' protocol, 101 recall points).</summary>
public class CocoBoxEvaluatorSpecs
{
    private static readonly Box A = new(0, 0, 10, 10);
    private static readonly Box B = new(20, 20, 30, 30);
    private static readonly Box Far = new(50, 50, 60, 60);

    private static GroundTruthBox Gt(Box box, int label = 0) => new(box, label);

    private static Detection Det(Box box, double score, int label = 0) => new(box, label, score);

    [Fact]
    public void Should_report_ap_of_one_when_every_prediction_is_perfect()
    {
        var coco = new CocoBoxEvaluator();
        coco.AddImage([Gt(A, 0), Gt(B, 1)], [Det(A, 0.9, 0), Det(B, 0.3, 1)]);
        coco.AddImage([Gt(B, 0)], [Det(B, 0.8, 0)]);

        var report = coco.Report();

        // pycocotools divides by tp + fp + numpy.spacing(1), so "1" is 1 - 2e-16.
        Assert.Equal(1.0, report.AP, 12);
        Assert.Equal(1.0, report.AP50, 12);
        Assert.Equal(1.0, report.AP75, 12);
        Assert.Equal([0, 1], report.PerCategory.Keys.Order());
    }

    [Fact]
    public void Should_interpolate_precision_over_101_recall_points_when_a_false_positive_ranks_in_the_middle()
    {
        // 2 GT, 3 predictions: TP (0.9), FP (0.8), TP (0.7), every TP an exact box.
        //   cumulative TP 1, 1, 2; FP 0, 1, 1 -> recall 0.5, 0.5, 1.0; precision 1, 1/2, 2/3
        //   monotone from the right: 1, 2/3, 2/3
        //   recall points 0.00..0.50 (51 points) first reach recall at rank 1 -> precision 1
        //   recall points 0.51..1.00 (50 points) first reach recall at rank 3 -> precision 2/3
        //   AP = (51 * 1 + 50 * 2/3) / 101 = 84.333 / 101 = 0.834983...
        // Exact boxes match at every IoU threshold, so AP = AP50 = AP75.
        var coco = new CocoBoxEvaluator();
        coco.AddImage([Gt(A), Gt(B)], [Det(A, 0.9), Det(Far, 0.8), Det(B, 0.7)]);

        var report = coco.Report();

        double expected = (51 + 50 * 2.0 / 3) / 101;
        Assert.Equal(0.8349834983, expected, 9);
        Assert.Equal(expected, report.AP, 9);
        Assert.Equal(expected, report.AP50, 9);
        Assert.Equal(expected, report.AP75, 9);
    }

    [Fact]
    public void Should_count_a_box_of_iou_0_6_at_three_of_ten_thresholds_when_computing_ap()
    {
        // GT (0,0)-(10,10), prediction (0,0)-(10,6): intersection 60, union 100, IoU 0.6.
        // It matches at IoU >= t for t = 0.50, 0.55, 0.60 (numpy's linspace gives exactly 0.6 there
        // and pycocotools matches at equality) and is a false positive at 0.65..0.95.
        // AP per threshold: 1 (one TP, recall 1 at precision 1) or 0, so AP = 3/10, AP50 = 1, AP75 = 0.
        var coco = new CocoBoxEvaluator();
        coco.AddImage([Gt(A)], [Det(new Box(0, 0, 10, 6), 0.9)]);

        var report = coco.Report();

        Assert.Equal(0.3, report.AP, 9);
        Assert.Equal(1.0, report.AP50, 9);
        Assert.Equal(0.0, report.AP75, 9);
    }

    [Fact]
    public void Should_match_greedily_by_score_when_a_looser_box_outranks_an_exact_one()
    {
        // One GT; the higher-scored prediction has IoU 0.72 (10 x 7.2 inside 10 x 10), the lower one is exact.
        //   t <= 0.70 (5 thresholds): the 0.72 box takes the GT, the exact one is a duplicate (FP):
        //     recall 1 at rank 1 with precision 1 -> AP 1
        //   t >= 0.75 (5 thresholds): the 0.72 box is an FP, the exact one a TP at rank 2:
        //     precision 0, 1/2 -> monotone 1/2, 1/2; every recall point reads 1/2 -> AP 0.5
        //   AP = (5 * 1 + 5 * 0.5) / 10 = 0.75; AP50 = 1; AP75 = 0.5
        var coco = new CocoBoxEvaluator();
        coco.AddImage([Gt(A)], [Det(new Box(0, 0, 10, 7.2), 0.9), Det(A, 0.8)]);

        var report = coco.Report();

        Assert.Equal(0.75, report.AP, 9);
        Assert.Equal(1.0, report.AP50, 9);
        Assert.Equal(0.5, report.AP75, 9);
    }

    [Fact]
    public void Should_give_51_of_101_when_half_the_ground_truth_is_never_found()
    {
        // 2 GT, 1 exact prediction: recall reaches 0.5 only; points 0.00..0.50 read 1, the rest 0.
        var coco = new CocoBoxEvaluator();
        coco.AddImage([Gt(A), Gt(B)], [Det(A, 0.9)]);

        Assert.Equal(51.0 / 101, coco.Report().AP, 9);
    }

    [Fact]
    public void Should_rank_detections_across_images_when_accumulating_a_category()
    {
        // Image 1: GT A, an FP scored 0.9. Image 2: GT B found at 0.8. Image 1's A found at 0.5.
        //   ranked: FP (0.9), TP (0.8), TP (0.5): precision 0, 1/2, 2/3 -> monotone 2/3, 2/3, 2/3
        //   recall 0, 0.5, 1 -> every recall point reads 2/3 -> AP = 2/3
        var coco = new CocoBoxEvaluator();
        coco.AddImage([Gt(A)], [Det(Far, 0.9), Det(A, 0.5)]);
        coco.AddImage([Gt(B)], [Det(B, 0.8)]);

        Assert.Equal(2.0 / 3, coco.Report().AP, 9);
    }

    [Fact]
    public void Should_leave_out_a_category_without_ground_truth_when_averaging()
    {
        var coco = new CocoBoxEvaluator();
        coco.AddImage([Gt(A, 0)], [Det(A, 0.9, 0), Det(B, 0.95, 7)]);

        var report = coco.Report();

        Assert.Equal(1.0, report.AP, 12);
        Assert.Equal([0], report.PerCategory.Keys);
    }

    [Fact]
    public void Should_keep_only_the_best_scored_detections_when_an_image_has_more_than_max_dets()
    {
        // maxDets 1: only the 0.9 detection of the image counts, so recall stops at 0.5 -> 51/101.
        var coco = new CocoBoxEvaluator(maxDetections: 1);
        coco.AddImage([Gt(A), Gt(B)], [Det(B, 0.5), Det(A, 0.9)]);

        Assert.Equal(51.0 / 101, coco.Report().AP, 9);
    }

    [Fact]
    public void Should_report_nan_when_no_category_has_ground_truth()
    {
        var coco = new CocoBoxEvaluator();
        coco.AddImage([], [Det(A, 0.9)]);

        Assert.True(double.IsNaN(coco.Report().AP));
    }
}
