using GppfActors.Tasks.Metrics;
using Xunit;

namespace GppfActors.Tasks.Tests.Metrics;

/// <summary>The KITTI depth metrics on a 4-pixel image worked out by hand.</summary>
public class DepthMetricsSpecs
{
    // gt = 2, 4, 0 (no measurement), 10; prediction = 2, 4.4, 7, 13. Valid pixels: 3.
    //   ratios max(d/g, g/d) = 1, 1.1, 1.3 -> d1 (< 1.25) = 2/3, d2 (< 1.5625) = 1, d3 = 1
    //   AbsRel = (0 + 0.4/4 + 3/10) / 3 = 0.13333
    //   SqRel  = (0 + 0.16/4 + 9/10) / 3 = 0.31333
    //   RMSE   = sqrt((0 + 0.16 + 9) / 3) = 1.74738
    //   RMSElog = sqrt((0 + ln(1.1)^2 + ln(1.3)^2) / 3) = sqrt((0.0090840 + 0.0688351) / 3) = 0.161161
    private static readonly float[] Truth = [2, 4, 0, 10];
    private static readonly float[] Predicted = [2, 4.4f, 7, 13];

    [Fact]
    public void Should_match_the_hand_computation_when_one_pixel_has_no_measurement()
    {
        var metrics = new DepthMetrics();
        metrics.AddImage(Predicted, Truth);

        var report = metrics.Report();

        Assert.Equal(2.0 / 3, report["d1"], 9);
        Assert.Equal(1.0, report["d2"], 9);
        Assert.Equal(1.0, report["d3"], 9);
        Assert.Equal(0.133333, report["AbsRel"], 5);
        Assert.Equal(0.313333, report["SqRel"], 5);
        Assert.Equal(1.747379, report["RMSE"], 5);
        Assert.Equal(0.161161, report["RMSElog"], 5);
    }

    [Fact]
    public void Should_count_only_ground_truth_inside_the_depth_range_when_given_one()
    {
        // Range (1, 20): the same image plus 0.5 m (below) and 20 m and 30 m (at and beyond the cap), predicted far off;
        // the report is the hand computation above.
        var metrics = new DepthMetrics(1, 20);
        metrics.AddImage([.. Predicted, 9f, 20f, 20f], [.. Truth, 0.5f, 20f, 30f]);

        var report = metrics.Report();

        Assert.Equal(0.133333, report["AbsRel"], 5);
        Assert.Equal(1.747379, report["RMSE"], 5);
        Assert.Equal(2.0 / 3, report["d1"], 9);
    }

    [Fact]
    public void Should_average_per_image_when_images_differ()
    {
        // Second image: one pixel, exact -> its RMSE is 0; the report is the mean of images, 1.747379 / 2.
        var metrics = new DepthMetrics();
        metrics.AddImage(Predicted, Truth);
        metrics.AddImage([3f], [3f]);
        metrics.AddImage([5f], [0f]);                      // no valid pixel: left out

        Assert.Equal(2, metrics.NumImages);
        Assert.Equal(1.747379 / 2, metrics.Report()["RMSE"], 5);
        Assert.Equal((2.0 / 3 + 1) / 2, metrics.Report()["d1"], 9);
    }
}
