using GppfActors.Tasks.Metrics;
using Xunit;

namespace GppfActors.Tasks.Tests.Metrics;

/// <summary>mIoU and pixel accuracy on a confusion matrix worked out by hand.</summary>
public class ConfusionMatrixSpecs
{
    // Rows ground truth, columns prediction, 4 classes:
    //   class 0: 3 right, 1 taken for class 1       row 4, column 3
    //   class 1: 2 right                            row 2, column 4
    //   class 2: 1 pixel, taken for class 1         row 1, column 0
    //   class 3: absent from ground truth and prediction
    // IoU = TP / (row + column - TP): 3 / 4 = 0.75; 2 / 4 = 0.5; 0 / 1 = 0; class 3 has none.
    // mIoU = (0.75 + 0.5 + 0) / 3 = 0.41667; pixel accuracy = 5 / 7.
    private static readonly long[,] Counts =
    {
        { 3, 1, 0, 0 },
        { 0, 2, 0, 0 },
        { 0, 1, 0, 0 },
        { 0, 0, 0, 0 },
    };

    [Fact]
    public void Should_average_iou_over_present_classes_when_one_class_is_absent_everywhere()
    {
        var matrix = ConfusionMatrix.FromCounts(Counts);

        var ious = matrix.IoUs();

        Assert.Equal(0.75, ious[0], 12);
        Assert.Equal(0.5, ious[1], 12);
        Assert.Equal(0.0, ious[2], 12);
        Assert.True(double.IsNaN(ious[3]));
        Assert.Equal(1.25 / 3, matrix.MeanIoU(), 12);
        Assert.Equal(5.0 / 7, matrix.PixelAccuracy(), 12);
    }

    [Fact]
    public void Should_build_the_same_matrix_from_pixels_when_ignored_pixels_are_mixed_in()
    {
        var matrix = new ConfusionMatrix(4);
        long[] truth = [0, 0, 0, 0, 1, 1, 2, 255, 255];
        long[] predicted = [0, 0, 0, 1, 1, 1, 1, 3, 0];

        matrix.Update(truth, predicted);

        for (int t = 0; t < 4; t++)
        {
            for (int p = 0; p < 4; p++)
            {
                Assert.Equal(Counts[t, p], matrix[t, p]);
            }
        }
        Assert.Equal(1.25 / 3, matrix.MeanIoU(), 12);
    }

    [Fact]
    public void Should_count_a_class_only_predicted_as_zero_iou_when_averaging()
    {
        // Class 1 never occurs in ground truth but is predicted once: IoU 0, and it counts.
        var matrix = new ConfusionMatrix(2);
        matrix.Update([0, 0], [0, 1]);

        Assert.Equal((0.5 + 0.0) / 2, matrix.MeanIoU(), 12);
    }

    [Fact]
    public void Should_reject_a_ground_truth_label_outside_the_classes_when_it_is_not_the_ignore_label()
    {
        var matrix = new ConfusionMatrix(3);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Update([7], [0]));
        Assert.Contains("ground truth label 7", error.Message);
    }
}
