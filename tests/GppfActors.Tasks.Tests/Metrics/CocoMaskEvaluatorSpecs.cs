using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Metrics;
using Xunit;

namespace GppfActors.Tasks.Tests.Metrics;

public sealed class CocoMaskEvaluatorSpecs
{
    private static BinaryMask Mask(int width, int height, Func<int, int, bool> inside) =>
        new(width, height, Enumerable.Range(0, width * height).Select(i => inside(i % width, i / width)).ToArray());

    [Fact]
    public void Should_give_ap_one_to_masks_equal_to_the_ground_truth()
    {
        var a = Mask(8, 8, (x, y) => x < 4 && y < 3);
        var b = Mask(8, 8, (x, y) => x >= 5 && y >= 5);
        var evaluator = new CocoMaskEvaluator();
        evaluator.AddImage([(a, 1), (b, 2)], [(a, 1, 0.9), (b, 2, 0.8)]);

        var report = evaluator.Report();
        Assert.Equal(1.0, report.AP, 12);
        Assert.Equal(1.0, report.AP50, 12);
        Assert.Equal(1.0, report.AP75, 12);
    }

    [Fact]
    public void Should_match_at_the_thresholds_the_mask_iou_reaches()
    {
        // Ground truth: a 10 x 10 square (100 pixels). Detection: its first 6 rows and 3 pixels of
        // the seventh (63 pixels, all inside): IoU 0.63, a match at 0.50, 0.55 and 0.60 of the ten
        // thresholds, where AP is 1 (one detection, one instance); 0 at the other seven.
        var square = Mask(12, 12, (x, y) => x < 10 && y < 10);
        var part = Mask(12, 12, (x, y) => x < 10 && (y < 6 || (y == 6 && x < 3)));
        Assert.Equal(63, part.Area);
        var evaluator = new CocoMaskEvaluator();
        evaluator.AddImage([(square, 3)], [(part, 3, 0.7)]);

        var report = evaluator.Report();
        Assert.Equal(0.3, report.AP, 12);
        Assert.Equal(1.0, report.AP50, 12);
        Assert.Equal(0.0, report.AP75, 12);
    }

    [Fact]
    public void Should_measure_overlap_on_pixels_not_on_boxes()
    {
        // An L (the first column and the last row of a 4 x 4 square) and the 3 x 3 block it leaves:
        // no pixel in common, so no mask match; their boxes, [0, 0, 4, 4] and [1, 0, 4, 3], overlap
        // 9/16 = 0.5625, a box match at 0.50 and 0.55: box AP 0.2.
        var l = Mask(6, 6, (x, y) => (x == 0 && y < 4) || (y == 3 && x < 4));
        var block = Mask(6, 6, (x, y) => x is >= 1 and < 4 && y < 3);
        Assert.Equal(new Box(0, 0, 4, 4), l.BoundingBox());
        Assert.Equal(new Box(1, 0, 4, 3), block.BoundingBox());

        var masks = new CocoMaskEvaluator();
        masks.AddImage([(l, 1)], [(block, 1, 0.9)]);
        var boxes = new CocoBoxEvaluator();
        boxes.AddImage([new GroundTruthBox(l.BoundingBox(), 1)], [new Detection(block.BoundingBox(), 1, 0.9)]);

        Assert.Equal(0.0, masks.Report().AP, 12);
        Assert.Equal(0.2, boxes.Report().AP, 12);
    }

    [Fact]
    public void Should_rank_detections_across_images_by_score()
    {
        // Two images with one instance each; the higher-scored detection misses (no overlap), the
        // lower one is exact. Ranked: a false positive, then a true positive: recall 0 then 1/2,
        // precision 0 then 1/2, made monotone 1/2, 1/2. Of the 101 recall points, 0.00..0.50 (51)
        // get precision 1/2 and the rest 0 (recall 1 is never reached), at every threshold.
        var a = Mask(4, 4, (x, y) => x < 2 && y < 2);
        var b = Mask(4, 4, (x, y) => x >= 2 && y >= 2);
        var evaluator = new CocoMaskEvaluator();
        evaluator.AddImage([(a, 1)], [(b, 1, 0.9)]);
        evaluator.AddImage([(b, 1)], [(b, 1, 0.5)]);

        Assert.Equal(51 * 0.5 / 101, evaluator.Report().AP, 12);
    }
}
