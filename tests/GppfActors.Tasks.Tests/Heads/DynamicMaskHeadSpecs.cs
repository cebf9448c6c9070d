using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Heads;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Heads;

/// <summary>The dynamic mask head's maths against plain loops and hand-computed values.</summary>
public class DynamicMaskHeadSpecs
{
    private static readonly InstanceSegmentationOptions Options = new(MaskChannels: 3, DynamicChannels: 2);

    [Fact]
    public void Should_equal_a_plain_loop_over_three_one_by_one_convolutions_when_applied_to_each_instance()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(4);
        int n = 2, h = 3, w = 4, cm = Options.MaskChannels, d = Options.DynamicChannels;
        var parameters = randn([n, Options.NumDynamicParams], generator: g);
        var features = randn([cm, h, w], generator: g);
        var coordinates = randn([n, 2, h, w], generator: g);

        var logits = DynamicMaskHead.Apply(parameters, features, coordinates, Options);

        Assert.Equal([n, h, w], logits.shape);
        var p = parameters.data<float>().ToArray();
        var f = features.data<float>().ToArray();
        var c = coordinates.data<float>().ToArray();
        var got = logits.data<float>().ToArray();
        int cin = cm + 2, P = Options.NumDynamicParams;
        // Layout: W1 [d, cin], W2 [d, d], W3 [1, d], then b1 [d], b2 [d], b3 [1].
        int w1 = 0, w2 = w1 + d * cin, w3 = w2 + d * d, b1 = w3 + d, b2 = b1 + d, b3 = b2 + d;
        Assert.Equal(P, b3 + 1);
        for (int i = 0; i < n; i++)
        {
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    var input = new double[cin];
                    input[0] = c[((i * 2 + 0) * h + y) * w + x];
                    input[1] = c[((i * 2 + 1) * h + y) * w + x];
                    for (int k = 0; k < cm; k++)
                    {
                        input[2 + k] = f[(k * h + y) * w + x];
                    }
                    var hidden1 = new double[d];
                    for (int o = 0; o < d; o++)
                    {
                        double s = p[i * P + b1 + o];
                        for (int k = 0; k < cin; k++)
                        {
                            s += p[i * P + w1 + o * cin + k] * input[k];
                        }
                        hidden1[o] = Math.Max(0, s);
                    }
                    var hidden2 = new double[d];
                    for (int o = 0; o < d; o++)
                    {
                        double s = p[i * P + b2 + o];
                        for (int k = 0; k < d; k++)
                        {
                            s += p[i * P + w2 + o * d + k] * hidden1[k];
                        }
                        hidden2[o] = Math.Max(0, s);
                    }
                    double expected = p[i * P + b3];
                    for (int k = 0; k < d; k++)
                    {
                        expected += p[i * P + w3 + k] * hidden2[k];
                    }
                    Assert.Equal(expected, got[(i * h + y) * w + x], 4);
                }
            }
        }
    }

    [Fact]
    public void Should_feed_the_instance_position_relative_to_each_cell_divided_by_the_level_scale_when_computing_logits()
    {
        // Parameters that pass the relative x (channel 0) through: hidden 0 = relu(rel_x + 10), hidden 0 again, out = h0 - 10.
        // One detection level of stride 4 on an 8 x 8 input (a 2 x 2 mask grid, cells at 2 and 6), out stride 4: no upsampling.
        using var scope = NewDisposeScope();
        var options = Options with { MaskOutStride = 4 };
        var detection = new FcosLayout([new FcosLevel(2, 2, 4, 0, double.PositiveInfinity)], new InputSize(8, 8));
        var layout = new InstanceMaskLayout(detection, 1, options, SizeRangeScale: 8);
        int cin = options.MaskChannels + 2, d = options.DynamicChannels;
        var p = new float[options.NumDynamicParams];
        int w2 = d * cin, w3 = w2 + d * d, b1 = w3 + d, b3 = b1 + 2 * d;
        p[0] = 1;                                                                      // W1[0, rel_x]
        p[w2] = 1;                                                                     // W2[0, 0]
        p[w3] = 1;                                                                     // W3[0, 0]
        p[b1] = 10;
        p[b3] = -10;
        var parameters = tensor(p).reshape(1, -1);
        var features = randn([options.MaskChannels, 2, 2]);

        var logits = DynamicMaskHead.Logits(layout, parameters, features, tensor(new float[] { 6, 2 }).reshape(1, 2), tensor(new float[] { 32 }));

        // rel_x = (6 - cell x) / (8 x 4): cells at x = 2 give 0.125, at x = 6 give 0; rows alike (rel_y is not read).
        Assert.Equal([1, 2, 2], logits.shape);
        Assert.Equal(new[] { 0.125f, 0f, 0.125f, 0f }, logits.data<float>().ToArray().Select(v => MathF.Round(v, 5)));
        Assert.Equal(1, layout.UpsampleFactor);
        Assert.Equal(32f, layout.CoordinateScales(CPU).data<float>()[0]);
    }
}
