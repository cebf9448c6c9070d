using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;
using GppfActors.Tasks.Heads;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Metrics;

// Shapes: B batch, n detections of one image, h0 x w0 the mask grid, s its stride, H x W the input.

/// <summary>
/// Turns the instance segmentation head's packed output into instances: the detections of
/// <see cref="FcosDecoder"/> (same thresholds, top-k and class-wise NMS), each with the mask its
/// location's dynamic head predicts, its probabilities upsampled bilinearly to the mask grid's full
/// extent in input pixels, cut to the input and thresholded.
/// </summary>
public static class InstanceMaskDecoder
{
    /// <summary>Instances per image of <paramref name="output"/> [B, N + M, D] laid out as <paramref name="layout"/>.</summary>
    public static IReadOnlyList<IReadOnlyList<(Detection Detection, BinaryMask Mask)>> Decode(Tensor output, InstanceMaskLayout layout, DetectionOptions options)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (detection, parameters, features) = layout.Split(output);
        var decoded = FcosDecoder.DecodeWithLocations(detection, layout.Detection, layout.NumClasses, options);
        var scales = layout.CoordinateScales(output.device);                               // [N]
        var (points, _) = layout.Detection.Locations(output.device);                       // [N, 2]
        var level = layout.MaskLevel;
        int height = layout.Detection.ImageSize.Height, width = layout.Detection.ImageSize.Width;
        var result = new IReadOnlyList<(Detection, BinaryMask)>[decoded.Count];
        for (int b = 0; b < decoded.Count; b++)
        {
            var image = decoded[b];
            if (image.Count == 0)
            {
                result[b] = [];
                continue;
            }
            var locations = tensor(image.Select(d => d.Location).ToArray(), device: output.device);  // [n]
            var logits = DynamicMaskHead.Logits(layout, parameters[b].index_select(0, locations).to_type(float32), features[b].to_type(float32),
                points.index_select(0, locations), scales.index_select(0, locations));  // [n, h0*f, w0*f]
            var probabilities = nn.functional.interpolate(logits.sigmoid().unsqueeze(1), size: [level.Height * level.Stride, level.Width * level.Stride],
                mode: InterpolationMode.Bilinear, align_corners: false).squeeze(1);     // [n, h0*s, w0*s]
            var inside = probabilities[.., ..height, ..width].ge(layout.Options.MaskThreshold).contiguous().cpu();  // [n, H, W]
            var pixels = inside.data<bool>().ToArray();
            int plane = height * width;
            result[b] = [.. image.Select((d, i) => (d.Detection, new BinaryMask(width, height, pixels.AsSpan(i * plane, plane).ToArray())))];
        }
        return result;
    }
}
