using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Model.Precision;
using GppfActors.Model.Routing;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Precision;

/// <summary>
/// bf16 mixed precision: each product is computed from bf16-rounded operands and rounded to bf16
/// once (checked against a float64 computation of the same rounded operands), gradients and
/// parameters stay fp32, fp32 is exactly the plain module, and activation checkpointing's
/// recomputation runs at the first pass's precision even when backward runs on another thread.
/// </summary>
public class MixedPrecisionSpecs
{
    // bf16 keeps 8 significant bits: rounding to nearest is off by at most 2^-8 of the value.
    private const double Bf16Unit = 1.0 / 256;

    [Fact]
    public void Should_round_the_operands_and_the_result_of_a_convolution_to_bf16_when_bf16_is_entered()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        var conv = nn.Conv2d(6, 5, 3, stride: 2, padding: 1, bias: true);
        using (no_grad())
        {
            conv.weight!.copy_(randn(conv.weight.shape, generator: generator));
            conv.bias!.copy_(randn(conv.bias.shape, generator: generator));
        }
        var x = randn([2, 6, 9, 7], generator: generator);

        Tensor y;
        using (Autocast.Enter(ComputePrecision.Bf16))
        {
            y = conv.AutocastForward(x);
        }

        var reference = nn.functional.conv2d(Rounded(x), Rounded(conv.weight!), Rounded(conv.bias!), strides: [2, 2], padding: [1, 1]);
        Assert.Equal(ScalarType.Float32, y.dtype);
        Assert.Equal(reference.shape, y.shape);
        AssertBf16Representable(y);
        AssertWithinBf16Rounding(y, reference);
        // The plain fp32 convolution of the unrounded operands is not what came out.
        Assert.True((y - conv.forward(x)).abs().max().item<float>() > 1e-3f);
    }

    [Fact]
    public void Should_give_the_plain_module_output_bit_for_bit_when_fp32_is_entered_or_nothing_is()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(4);
        var conv = nn.Conv2d(3, 4, 3, padding: 1);
        var linear = nn.Linear(7, 2);
        var x = randn([2, 3, 5, 5], generator: generator);
        var v = randn([3, 7], generator: generator);

        StateAssert.BytesEqual(new Dictionary<string, Tensor> { ["conv"] = conv.forward(x), ["linear"] = linear.forward(v), ["mm"] = v.matmul(v.T) },
            new Dictionary<string, Tensor> { ["conv"] = conv.AutocastForward(x), ["linear"] = linear.AutocastForward(v), ["mm"] = Autocast.MatMul(v, v.T) }, "outside any precision scope");
        using (Autocast.Enter(ComputePrecision.Fp32))
        {
            StateAssert.BytesEqual(new Dictionary<string, Tensor> { ["conv"] = conv.forward(x) },
                new Dictionary<string, Tensor> { ["conv"] = conv.AutocastForward(x) }, "inside fp32");
        }
    }

    [Fact]
    public void Should_round_linear_layers_and_matrix_products_to_bf16_and_restore_the_previous_precision_on_leaving()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        var linear = nn.Linear(33, 9);
        var a = randn([4, 5, 33], generator: generator);
        var b = randn([4, 33, 6], generator: generator);

        Tensor viaLinear, viaMatMul;
        using (Autocast.Enter(ComputePrecision.Bf16))
        {
            using (Autocast.Enter(ComputePrecision.Fp32))
            {
                Assert.Equal(ComputePrecision.Fp32, Autocast.Current);
            }
            Assert.Equal(ComputePrecision.Bf16, Autocast.Current);
            viaLinear = linear.AutocastForward(a);
            viaMatMul = Autocast.MatMul(a, b);
        }
        Assert.Equal(ComputePrecision.Fp32, Autocast.Current);

        AssertBf16Representable(viaLinear);
        AssertBf16Representable(viaMatMul);
        // Two roundings, each within half a unit of its value: the product's, then the bias add's.
        var product = Rounded(a).matmul(Rounded(linear.weight!).T);
        var withBias = product + Rounded(linear.bias!);
        AssertWithinBf16Rounding(viaLinear, withBias, product.abs() + withBias.abs());
        AssertWithinBf16Rounding(viaMatMul, Rounded(a).matmul(Rounded(b)));
    }

    [Fact]
    public void Should_keep_parameters_and_gradients_fp32_and_follow_the_fp32_network_closely_when_a_network_trains_in_bf16()
    {
        var fp32 = LossAndGradients(ComputePrecision.Fp32, ActivationCheckpointing.Off);
        var bf16 = LossAndGradients(ComputePrecision.Bf16, ActivationCheckpointing.Off);

        Assert.NotEqual(fp32.Loss, bf16.Loss);   // the products did run in bf16
        Assert.InRange(Math.Abs(bf16.Loss - fp32.Loss) / fp32.Loss, 0, 0.02);
        Assert.Equal(fp32.Gradients.Keys.Order(), bf16.Gradients.Keys.Order());
        Assert.Contains(bf16.Gradients.Keys, k => k.Contains("conv", StringComparison.Ordinal));
        foreach (var (key, g) in bf16.Gradients)
        {
            Assert.Equal(ScalarType.Float32, g.dtype);
            var expected = fp32.Gradients[key];
            double norm = expected.norm().item<float>();
            double error = (g - expected).norm().item<float>();
            // A step's gradients through bf16 products differ from fp32's by a few per cent (up to 20 %
            // for a BN bias summed over many positions); a gradient that is lost or wrong differs by 100 %.
            Assert.True(error <= 0.3 * norm + 1e-6, $"{key}: |bf16 - fp32| = {error:g4}, |fp32| = {norm:g4}");
        }
        var all32 = cat(fp32.Gradients.OrderBy(kv => kv.Key).Select(kv => kv.Value.flatten()).ToArray());
        var all16 = cat(bf16.Gradients.OrderBy(kv => kv.Key).Select(kv => kv.Value.flatten()).ToArray());
        double cosine = nn.functional.cosine_similarity(all32.unsqueeze(0), all16.unsqueeze(0)).item<float>();
        Assert.True(cosine > 0.99, $"cosine of the whole bf16 and fp32 gradients {cosine:g6}");
        Assert.All(bf16.ParameterTypes, t => Assert.Equal(ScalarType.Float32, t));
        StateAssert.DisposeAll([fp32.Gradients, bf16.Gradients]);
    }

    [Fact]
    public void Should_recompute_a_checkpointed_layer_at_the_first_pass_precision_when_backward_runs_on_another_thread()
    {
        var plain = LossAndGradients(ComputePrecision.Bf16, ActivationCheckpointing.Off);
        // Forward on this thread inside the network's bf16 scope; backward on a thread that never
        // entered one, as libtorch's CUDA backward threads never do.
        var checkpointed = LossAndGradients(ComputePrecision.Bf16, ActivationCheckpointing.AllLayers, backwardOnAnotherThread: true);

        Assert.Equal(plain.Loss, checkpointed.Loss);
        StateAssert.BytesEqual(plain.Gradients, checkpointed.Gradients, "bf16 checkpointed (backward on another thread) against plain");
        StateAssert.DisposeAll([plain.Gradients, checkpointed.Gradients]);
    }

    private sealed record Result(float Loss, Dictionary<string, Tensor> Gradients, ScalarType[] ParameterTypes);

    private static Result LossAndGradients(ComputePrecision precision, ActivationCheckpointing checkpointing, bool backwardOnAnotherThread = false)
    {
        using var net = new GppfNetwork(BackboneConfig.Tiny(2) with { ActivationCheckpointing = checkpointing },
            [Nets.Classifier(ToyTasks.Colour.Name, ToyTasks.Colour.Classes)], seed: 9)
        {
            Precision = precision,
        };
        Nets.RandomiseNorms(net, 13);
        net.train();
        var (x, y) = ToyTasks.Batch(ToyTasks.Colour.Name, 2, 0);
        var loss = nn.functional.cross_entropy(net.Forward(ToyTasks.Colour.Name, x, new RouteRequest(RoutingMode.Soft, 1.0, 77, 2, 0)), y);
        Assert.Equal(ComputePrecision.Fp32, Autocast.Current);   // the network's scope ended with its forward
        if (backwardOnAnotherThread)
        {
            var thread = new Thread(() => loss.backward());
            thread.Start();
            thread.Join();
        }
        else
        {
            loss.backward();
        }
        var grads = net.named_parameters().Where(p => p.parameter.grad is not null)
            .Select(p => KeyValuePair.Create(p.name, p.parameter.grad!));
        var result = new Result(loss.item<float>(), StateAssert.Snapshot(grads), net.parameters().Select(p => p.dtype).ToArray());
        foreach (var t in new[] { x, y, loss })
        {
            t.Dispose();
        }
        return result;
    }

    // The float64 value of a tensor rounded to bf16: the reference's operands.
    private static Tensor Rounded(Tensor t) => t.detach().to(ScalarType.BFloat16).to(float64);

    private static void AssertBf16Representable(Tensor t) =>
        Assert.True(t.detach().to(ScalarType.BFloat16).to(float32).eq(t.detach()).all().item<bool>(), "the values are not bf16 values: the product did not run in bf16");

    // Within one bf16 unit of the magnitude that was rounded (the reference's own, by default).
    private static void AssertWithinBf16Rounding(Tensor actual, Tensor reference, Tensor? magnitude = null)
    {
        var error = (actual.detach().to(float64) - reference).abs();
        var allowed = (magnitude ?? reference.abs()) * Bf16Unit + 1e-5;
        Assert.True((error <= allowed).all().item<bool>(),
            $"worst error {error.max().item<double>():g4} beyond one bf16 rounding (at |reference| {reference.abs().flatten()[(error - allowed).argmax()].item<double>():g4})");
    }
}
