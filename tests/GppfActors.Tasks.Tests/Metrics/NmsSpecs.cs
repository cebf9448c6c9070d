using GppfActors.Tasks.Metrics;
using Xunit;

namespace GppfActors.Tasks.Tests.Metrics;

/// <summary>Class-wise NMS at IoU 0.6 on boxes whose overlaps are worked out by hand.</summary>
public class NmsSpecs
{
    [Fact]
    public void Should_suppress_only_same_class_overlaps_above_the_threshold_when_reducing()
    {
        var d = new Detection(new Box(0, 0, 10, 5), 0, 0.95);       // kept first
        var a = new Detection(new Box(0, 0, 10, 10), 0, 0.9);       // IoU with d = 50/100 = 0.5: kept
        var b = new Detection(new Box(1, 0, 11, 10), 0, 0.8);       // IoU with a = 90/110 = 0.82: suppressed
        var c = new Detection(new Box(1, 0, 11, 10), 1, 0.7);       // same box as b, other class: kept
        var e = new Detection(new Box(20, 20, 30, 30), 0, 0.6);     // no overlap: kept
        var f = new Detection(new Box(0, 0, 10, 6), 0, 0.5);        // IoU with d = 50/60 = 0.83: suppressed

        var kept = Nms.ClassWise([a, b, c, d, e, f], 0.6);

        Assert.Equal([d, a, c, e], kept);
    }

    [Fact]
    public void Should_keep_both_boxes_when_their_iou_equals_the_threshold()
    {
        // IoU (0,0)-(10,10) vs (0,0)-(10,6) = 60/100 = 0.6: suppression needs IoU > 0.6.
        var high = new Detection(new Box(0, 0, 10, 10), 0, 0.9);
        var low = new Detection(new Box(0, 0, 10, 6), 0, 0.8);

        Assert.Equal([high, low], Nms.ClassWise([low, high], 0.6));
    }

    [Fact]
    public void Should_stop_at_max_detections_when_more_survive()
    {
        var boxes = Enumerable.Range(0, 5).Select(i => new Detection(new Box(20 * i, 0, 20 * i + 10, 10), 0, 0.1 * i)).ToArray();

        var kept = Nms.ClassWise(boxes, 0.6, maxDetections: 2);

        Assert.Equal([boxes[4], boxes[3]], kept);
    }
}
