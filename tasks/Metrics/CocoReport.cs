namespace GppfActors.Tasks.Metrics;

/// <summary>COCO box AP results; every value is NaN when no category has ground truth.</summary>
/// <param name="AP">Mean over IoU 0.50:0.05:0.95 and over categories with ground truth.</param>
/// <param name="AP50">At IoU 0.50.</param>
/// <param name="AP75">At IoU 0.75.</param>
/// <param name="PerCategory">Mean over IoU thresholds, by category.</param>
public sealed record CocoReport(double AP, double AP50, double AP75, IReadOnlyDictionary<int, double> PerCategory);
