namespace GppfActors.Tasks.Metrics;

/// <summary>Greedy non-maximum suppression, written out so it runs the same on every device and needs no vision ops library.</summary>
public static class Nms
{
    /// <summary>
    /// Class-wise NMS: visits detections by descending score (equal scores keep input order) and
    /// keeps one unless a kept detection of the same class overlaps it with IoU &gt; <paramref name="iouThreshold"/>.
    /// Returns the kept detections, highest score first, at most <paramref name="maxDetections"/>.
    /// </summary>
    public static IReadOnlyList<Detection> ClassWise(IReadOnlyList<Detection> detections, double iouThreshold, int maxDetections = int.MaxValue) =>
        [.. ClassWiseIndices(detections, iouThreshold, maxDetections).Select(i => detections[i])];

    /// <summary>The positions in <paramref name="detections"/> that <see cref="ClassWise"/> keeps, in its order.</summary>
    public static IReadOnlyList<int> ClassWiseIndices(IReadOnlyList<Detection> detections, double iouThreshold, int maxDetections = int.MaxValue)
    {
        var order = Enumerable.Range(0, detections.Count).OrderByDescending(i => detections[i].Score).ToArray();  // stable
        var kept = new List<int>();
        foreach (int i in order)
        {
            if (kept.Count >= maxDetections)
            {
                break;
            }
            var candidate = detections[i];
            bool suppressed = false;
            foreach (var k in kept)
            {
                if (detections[k].Label == candidate.Label && detections[k].Box.Iou(candidate.Box) > iouThreshold)
                {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed)
            {
                kept.Add(i);
            }
        }
        return kept;
    }
}
