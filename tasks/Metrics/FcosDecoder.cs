using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Heads;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Metrics;

// Shapes: B batch, N locations, K classes, M candidates of one image.

/// <summary>
/// Turns the detection head's packed output into detections, as FCOS does: candidates are
/// (location, class) pairs whose class probability exceeds the score threshold; their score is
/// sqrt(class probability x centerness); the best pre-NMS top-k are decoded to boxes around their
/// locations, clipped to the image, and reduced by class-wise NMS to at most max-detections per image.
/// </summary>
public static class FcosDecoder
{
    /// <summary>Detections per image of <paramref name="output"/> [B, N, K + 5] laid out as <paramref name="layout"/>.</summary>
    public static IReadOnlyList<IReadOnlyList<Detection>> Decode(Tensor output, FcosLayout layout, int numClasses, DetectionOptions options) =>
        [.. DecodeWithLocations(output, layout, numClasses, options).Select(image => (IReadOnlyList<Detection>)[.. image.Select(d => d.Detection)])];

    /// <summary>As <see cref="Decode"/>, each detection with the output row (location) it was decoded from.</summary>
    public static IReadOnlyList<IReadOnlyList<(Detection Detection, long Location)>> DecodeWithLocations(Tensor output, FcosLayout layout, int numClasses, DetectionOptions options)
    {
        if (output.shape[1] != layout.NumLocations || output.shape[2] != numClasses + 5)
        {
            throw new ArgumentException($"detection output [{string.Join(", ", output.shape)}] does not match the layout ({layout.NumLocations} locations, {numClasses} + 5 channels)");
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (points, _) = layout.Locations(output.device);                                  // [N, 2]
        var result = new IReadOnlyList<(Detection, long)>[output.shape[0]];
        for (int b = 0; b < result.Length; b++)
        {
            var image = output[b].to_type(float32);                                         // [N, K+5]
            var probabilities = image[.., ..numClasses].sigmoid();                          // [N, K]
            var centerness = image[.., numClasses + 4].sigmoid();                           // [N]
            var candidates = probabilities.gt(options.ScoreThreshold).nonzero();             // [M, 2] (location, class)
            if (candidates.shape[0] == 0)
            {
                result[b] = [];
                continue;
            }
            var location = candidates[.., 0];                                               // [M]
            var label = candidates[.., 1];                                                  // [M]
            var classProbability = probabilities.index_select(0, location).gather(1, label.unsqueeze(1)).squeeze(1);  // [M]
            var score = (classProbability * centerness.index_select(0, location)).sqrt();  // [M]
            if (score.shape[0] > options.PreNmsTopK)
            {
                var (_, top) = score.topk(options.PreNmsTopK);
                location = location.index_select(0, top);
                label = label.index_select(0, top);
                score = score.index_select(0, top);
            }
            var distances = image.index_select(0, location)[.., numClasses..(numClasses + 4)];  // [M, 4]
            var centres = points.index_select(0, location);                                 // [M, 2]
            var boxes = cat([centres - distances[.., ..2], centres + distances[.., 2..]], 1);  // [M, 4]
            var limits = tensor(new float[] { layout.ImageSize.Width, layout.ImageSize.Height, layout.ImageSize.Width, layout.ImageSize.Height }, device: output.device);
            boxes = boxes.clamp_min(0).minimum(limits);                                     // [M, 4]

            var boxData = boxes.cpu().data<float>().ToArray();
            var labelData = label.cpu().data<long>().ToArray();
            var locationData = location.cpu().data<long>().ToArray();
            var scoreData = score.cpu().data<float>().ToArray();
            var detections = new Detection[labelData.Length];
            for (int i = 0; i < detections.Length; i++)
            {
                detections[i] = new Detection(
                    new Box(boxData[4 * i], boxData[4 * i + 1], boxData[4 * i + 2], boxData[4 * i + 3]), (int)labelData[i], scoreData[i]);
            }
            result[b] = [.. Nms.ClassWiseIndices(detections, options.NmsIouThreshold, options.MaxDetections).Select(i => (detections[i], locationData[i]))];
        }
        return result;
    }
}
