using GppfActors.Model.Backbone;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Backbone;

/// <summary>
/// Swin's windowed attention and patch merging against references written here with plain loops over
/// token coordinates (float64), which use only the modules' weights, never their code.
/// </summary>
public class SwinAttentionSpecs
{
    [Theory]
    [InlineData(5, 7, 3, 1)]   // padded to 6 x 9, shifted by 1 in both dimensions
    [InlineData(6, 6, 3, 1)]   // no padding, shifted
    [InlineData(5, 7, 3, 0)]   // padded, plain windows
    [InlineData(3, 2, 4, 2)]   // the window covers the whole padded map: one window, no shift
    [InlineData(3, 9, 4, 2)]   // shifted across the width only (the padded height is one window)
    public void Should_equal_a_loop_reference_of_windowed_attention_with_relative_position_bias(int height, int width, int window, int shift)
    {
        using var scope = NewDisposeScope();
        const int C = 4, Heads = 2, B = 2;
        using var g = new Generator(5);
        var attention = new ShiftedWindowAttention(C, Heads, window, shift, g);
        var state = attention.state_dict();
        using (no_grad())
        {
            // The initial table is tiny (std 0.02); make the bias matter.
            state["relative_position_bias_table"].copy_(randn(state["relative_position_bias_table"].shape, generator: g));
        }
        var x = randn([B, height, width, C], generator: g);

        var actual = attention.forward(x);
        var expected = Reference(x, state, window, shift, Heads);
        TensorAssert.Close(actual, expected, rtol: 1e-5, atol: 1e-6, what: "windowed attention");
    }

    [Fact]
    public void Should_merge_each_2x2_neighbourhood_in_torchvision_order_padding_odd_sizes()
    {
        using var scope = NewDisposeScope();
        const int C = 3;
        using var g = new Generator(6);
        var merging = new PatchMerging(C, g);
        var state = merging.state_dict();
        var x = randn([2, 5, 3, C], generator: g);

        var actual = merging.forward(x);                                    // [2, 3, 2, 2C]

        var xs = x.to_type(float64).data<double>().ToArray();
        var w = state["reduction.weight"].to_type(float64).data<double>().ToArray(); // [2C, 4C]
        var gamma = state["norm.weight"].to_type(float64).data<double>().ToArray();
        var beta = state["norm.bias"].to_type(float64).data<double>().ToArray();
        var expected = new double[2 * 3 * 2 * 2 * C];
        for (int b = 0; b < 2; b++)
        {
            for (int i = 0; i < 3; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    // (row offset, column offset) of the four parts: (0,0), (1,0), (0,1), (1,1); outside the input is 0.
                    var v = new double[4 * C];
                    int[][] offsets = [[0, 0], [1, 0], [0, 1], [1, 1]];
                    for (int part = 0; part < 4; part++)
                    {
                        int r = 2 * i + offsets[part][0], c = 2 * j + offsets[part][1];
                        for (int ch = 0; ch < C; ch++)
                        {
                            v[part * C + ch] = r < 5 && c < 3 ? xs[((b * 5 + r) * 3 + c) * C + ch] : 0;
                        }
                    }
                    double mean = v.Average(), variance = v.Select(t => (t - mean) * (t - mean)).Average();
                    var normed = v.Select((t, k) => (t - mean) / Math.Sqrt(variance + 1e-5) * gamma[k] + beta[k]).ToArray();
                    for (int o = 0; o < 2 * C; o++)
                    {
                        expected[((b * 3 + i) * 2 + j) * 2 * C + o] = Enumerable.Range(0, 4 * C).Sum(k => w[o * 4 * C + k] * normed[k]);
                    }
                }
            }
        }
        TensorAssert.Close(actual, tensor(expected).view(2, 3, 2, 2 * C), rtol: 1e-5, atol: 1e-6, what: "patch merging");
    }

    /// <summary>
    /// Swin's W-MSA / SW-MSA from its definition: pad with zeros to multiples of the window; if the padded
    /// size along an axis exceeds the window, shift the grid by s (token at shifted position i is the padded
    /// token (i + s) mod P) and cut into windows; within a window token a attends to token b with logit
    /// q_a.k_b / sqrt(d) + table[(ya - yb + w - 1)(2w - 1) + xa - xb + w - 1], unless one of them wrapped
    /// round an axis (i + s >= P) and the other did not; then crop.
    /// </summary>
    private static Tensor Reference(Tensor input, IReadOnlyDictionary<string, Tensor> state, int w, int s, int heads)
    {
        int b = (int)input.shape[0], h = (int)input.shape[1], wd = (int)input.shape[2], c = (int)input.shape[3], d = c / heads;
        var x = input.to_type(float64).data<double>().ToArray();
        var wqkv = state["qkv.weight"].to_type(float64).data<double>().ToArray();     // [3C, C]
        var bqkv = state["qkv.bias"].to_type(float64).data<double>().ToArray();
        var wp = state["proj.weight"].to_type(float64).data<double>().ToArray();      // [C, C]
        var bp = state["proj.bias"].to_type(float64).data<double>().ToArray();
        var table = state["relative_position_bias_table"].to_type(float64).data<double>().ToArray(); // [(2w-1)^2, heads]
        int ph = (h + w - 1) / w * w, pw = (wd + w - 1) / w * w;
        int sh = ph > w ? s : 0, sw = pw > w ? s : 0;
        var output = new double[b * h * wd * c];
        for (int n = 0; n < b; n++)
        {
            // q, k, v of every padded token at its shifted position.
            var qkv = new double[ph, pw, 3 * c];
            for (int i = 0; i < ph; i++)
            {
                for (int j = 0; j < pw; j++)
                {
                    int oi = (i + sh) % ph, oj = (j + sw) % pw;
                    for (int o = 0; o < 3 * c; o++)
                    {
                        double acc = bqkv[o];
                        for (int k = 0; k < c; k++)
                        {
                            acc += wqkv[o * c + k] * (oi < h && oj < wd ? x[((n * h + oi) * wd + oj) * c + k] : 0);
                        }
                        qkv[i, j, o] = acc;
                    }
                }
            }
            for (int i = 0; i < ph; i++)
            {
                for (int j = 0; j < pw; j++)
                {
                    int oi = (i + sh) % ph, oj = (j + sw) % pw;
                    if (oi >= h || oj >= wd)
                    {
                        continue; // cropped
                    }
                    int wi0 = i / w * w, wj0 = j / w * w;
                    var attended = new double[c];
                    for (int head = 0; head < heads; head++)
                    {
                        var logits = new List<(double Logit, int I, int J)>();
                        for (int i2 = wi0; i2 < wi0 + w; i2++)
                        {
                            for (int j2 = wj0; j2 < wj0 + w; j2++)
                            {
                                double dot = 0;
                                for (int e = 0; e < d; e++)
                                {
                                    dot += qkv[i, j, head * d + e] * qkv[i2, j2, c + head * d + e];
                                }
                                int rel = (i - i2 + w - 1) * (2 * w - 1) + (j - j2 + w - 1);
                                bool sameRegion = (i + sh >= ph) == (i2 + sh >= ph) && (j + sw >= pw) == (j2 + sw >= pw);
                                logits.Add((dot / Math.Sqrt(d) + table[rel * heads + head] + (sameRegion ? 0 : -100), i2, j2));
                            }
                        }
                        double max = logits.Max(l => l.Logit);
                        double z = logits.Sum(l => Math.Exp(l.Logit - max));
                        foreach (var (logit, i2, j2) in logits)
                        {
                            double p = Math.Exp(logit - max) / z;
                            for (int e = 0; e < d; e++)
                            {
                                attended[head * d + e] += p * qkv[i2, j2, 2 * c + head * d + e];
                            }
                        }
                    }
                    for (int o = 0; o < c; o++)
                    {
                        output[((n * h + oi) * wd + oj) * c + o] = bp[o] + Enumerable.Range(0, c).Sum(k => wp[o * c + k] * attended[k]);
                    }
                }
            }
        }
        return tensor(output).view(b, h, wd, c);
    }
}
