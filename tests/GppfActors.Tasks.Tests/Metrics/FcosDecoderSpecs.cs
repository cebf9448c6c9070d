using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Heads;
using GppfActors.Tasks.Metrics;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Metrics;

/// <summary>Decoding a hand-written packed head output: threshold, sqrt(cls x ctr) scores, boxes around locations, clipping, NMS.</summary>
public class FcosDecoderSpecs
{
    [Fact]
    public void Should_decode_threshold_clip_and_suppress_when_given_a_hand_made_output()
    {
        // 8 x 8 image, one level of 2 x 2 cells, stride 4: locations (2,2), (6,2), (2,6), (6,6).
        var layout = new FcosLayout([new FcosLevel(2, 2, 4, 0, double.PositiveInfinity)], new InputSize(8, 8));
        // Channels: logit class 0, logit class 1, l, t, r, b, centerness logit.
        float[,] rows =
        {
            { -10, 10, 1, 1, 3, 3, 0 },     // class 1 p~1, ctr 0.5 -> score sqrt(0.5); box (1,1)-(5,5)
            { -10, 0, 5, 1, 1, 3, 0 },      // class 1 p 0.5 -> score 0.5; box (1,1)-(7,5), IoU 16/24 with the first: suppressed
            { 0, -10, 3, 1, 1, 3, 2 },      // class 0 p 0.5, ctr 0.881 -> score 0.664; box (-1,5)-(3,9) clipped to (0,5)-(3,8)
            { -10, -3.5f, 1, 1, 1, 1, 0 },  // class 1 p 0.029 < 0.05: not a candidate
        };
        using var output = tensor(rows).unsqueeze(0);                       // [1, 4, 7]

        var detections = FcosDecoder.Decode(output, layout, 2, new DetectionOptions())[0];

        Assert.Equal(2, detections.Count);
        Assert.Equal(1, detections[0].Label);
        Assert.Equal(new Box(1, 1, 5, 5), detections[0].Box);
        Assert.Equal(Math.Sqrt(0.5 / (1 + Math.Exp(-10))), detections[0].Score, 5);
        Assert.Equal(0, detections[1].Label);
        Assert.Equal(new Box(0, 5, 3, 8), detections[1].Box);
        Assert.Equal(Math.Sqrt(0.5 / (1 + Math.Exp(-2))), detections[1].Score, 5);
    }
}
