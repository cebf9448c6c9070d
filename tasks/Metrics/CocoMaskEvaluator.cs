using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Metrics;

/// <summary>
/// COCO-style mask AP (pycocotools' <c>segm</c> protocol): the box protocol of
/// <see cref="CocoBoxEvaluator"/> with the overlap of two instances measured on their masks
/// (pixels in both over pixels in either) instead of their boxes.
/// </summary>
public sealed class CocoMaskEvaluator(int maxDetections = 100)
{
    private readonly CocoBoxEvaluator protocol = new(maxDetections);

    /// <summary>Images added.</summary>
    public int NumImages => protocol.NumImages;

    /// <summary>Adds one image's ground-truth instances and detected instances (each with its mask, of the image's size).</summary>
    public void AddImage(IReadOnlyList<(BinaryMask Mask, int Label)> groundTruth, IReadOnlyList<(BinaryMask Mask, int Label, double Score)> detections) =>
        protocol.AddImage(groundTruth.Select(g => g.Label).ToArray(), detections.Select(d => (d.Label, d.Score)).ToArray(),
            (d, g) => detections[d].Mask.Iou(groundTruth[g].Mask));

    /// <summary>Mask AP (mean over thresholds and categories), AP50, AP75 and AP per category.</summary>
    public CocoReport Report() => protocol.Report();
}
