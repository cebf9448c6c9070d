using GppfActors.Tasks.Definitions;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: n instances, P dynamic parameters, Cm mask channels, Dc dynamic channels, h x w the mask grid.

/// <summary>
/// CondInst's dynamic mask head: per instance, three 1x1 convolutions (Cm + 2 -> Dc -> Dc -> 1, ReLU
/// between) whose weights and biases are that instance's predicted parameters, run on the mask
/// features with the instance's relative coordinates as two extra channels. The parameter vector
/// holds, as CondInst orders it, the three weight matrices (row-major, [out, in]) and then the three
/// bias vectors. Pure tensor maths; the head predicts the parameters, the loss and decoder call this.
/// </summary>
public static class DynamicMaskHead
{
    /// <summary>Mask logits [n, h, w] of <paramref name="parameters"/> [n, P] over <paramref name="features"/> [Cm, h, w] with <paramref name="relativeCoordinates"/> [n, 2, h, w].</summary>
    public static Tensor Apply(Tensor parameters, Tensor features, Tensor relativeCoordinates, InstanceSegmentationOptions options)
    {
        long n = parameters.shape[0], h = features.shape[1], w = features.shape[2];
        int cin = options.MaskChannels + 2, d = options.DynamicChannels;
        var x = cat([relativeCoordinates, features.unsqueeze(0).expand(n, -1, -1, -1)], 1).reshape(n, cin, h * w);  // [n, Cm+2, h*w]
        long[] sizes = [cin * d, d * d, d, d, d, 1];
        var parts = parameters.split(sizes, 1);
        var w1 = parts[0].reshape(n, d, cin);                                              // [n, Dc, Cm+2]
        var w2 = parts[1].reshape(n, d, d);                                                // [n, Dc, Dc]
        var w3 = parts[2].reshape(n, 1, d);                                                // [n, 1, Dc]
        var y = nn.functional.relu(w1.bmm(x) + parts[3].unsqueeze(2));                     // [n, Dc, h*w]
        y = nn.functional.relu(w2.bmm(y) + parts[4].unsqueeze(2));                         // [n, Dc, h*w]
        y = w3.bmm(y) + parts[5].unsqueeze(2);                                             // [n, 1, h*w]
        return y.reshape(n, h, w);                                                         // [n, h, w]
    }

    /// <summary>
    /// Mask logits at the loss's resolution, [n, h0 x f, w0 x f] (f = <see cref="InstanceMaskLayout.UpsampleFactor"/>),
    /// of the instances predicted at detection locations <paramref name="points"/> [n, 2] (pixels) whose coordinate
    /// scales are <paramref name="scales"/> [n], from one image's <paramref name="parameters"/> [n, P] and mask
    /// <paramref name="features"/> [Cm, h0, w0]. Relative coordinates are (instance - cell) / scale, x then y.
    /// </summary>
    public static Tensor Logits(InstanceMaskLayout layout, Tensor parameters, Tensor features, Tensor points, Tensor scales)
    {
        var level = layout.MaskLevel;
        var cells = layout.MaskPoints(features.device);                                    // [M, 2]
        var relative = (points.unsqueeze(1) - cells.unsqueeze(0)) / scales.view(-1, 1, 1);  // [n, M, 2]
        var coordinates = relative.transpose(1, 2).reshape(-1, 2, level.Height, level.Width);  // [n, 2, h0, w0]
        var logits = Apply(parameters, features, coordinates.to_type(features.dtype), layout.Options);  // [n, h0, w0]
        int f = layout.UpsampleFactor;
        if (f == 1)
        {
            return logits;
        }
        return nn.functional.interpolate(logits.unsqueeze(1), size: [level.Height * f, level.Width * f],
            mode: InterpolationMode.Bilinear, align_corners: false).squeeze(1);             // [n, h0*f, w0*f]
    }
}
