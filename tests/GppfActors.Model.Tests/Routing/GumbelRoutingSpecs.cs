using GppfActors.Model.Network;
using GppfActors.Model.Routing;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Routing;

public class GumbelRoutingSpecs
{
    [Fact]
    public void Should_repeat_noise_exactly_when_the_key_is_the_same()
    {
        var a = new float[4];
        var b = new float[4];
        GumbelNoise.Sample(42, 1000, 3, 5, a);
        GumbelNoise.Sample(42, 1000, 3, 5, b);
        Assert.Equal(a, b);
        foreach (var (step, rank, layer) in new[] { (1001L, 3, 5), (1000L, 2, 5), (1000L, 3, 6) })
        {
            GumbelNoise.Sample(42, step, rank, layer, b);
            Assert.NotEqual(a, b);
        }
    }

    [Fact]
    public void Should_follow_the_standard_gumbel_distribution_when_sampled_often()
    {
        // Gumbel(0, 1): mean = Euler-Mascheroni constant, variance = pi^2 / 6.
        var values = new float[8];
        double sum = 0, sumSq = 0;
        int n = 0;
        for (long step = 0; step < 25_000; step++)
        {
            GumbelNoise.Sample(7, step, (int)(step % 4), 2, values);
            foreach (var v in values)
            {
                sum += v;
                sumSq += v * v;
                n++;
            }
        }
        double mean = sum / n;
        double variance = sumSq / n - mean * mean;
        Assert.InRange(mean, 0.5772 - 0.01, 0.5772 + 0.01);
        Assert.InRange(variance, Math.PI * Math.PI / 6 - 0.03, Math.PI * Math.PI / 6 + 0.03);
    }

    [Fact]
    public void Should_pick_units_with_the_controller_probabilities_when_sampling_hard()
    {
        // Gumbel-max: arg-max(log p + G) is distributed as p, whatever tau is.
        var controller = new TaskController("t", 1, 3);
        using (no_grad())
        {
            controller.Logits.copy_(log(tensor(new[] { 0.7f, 0.2f, 0.1f })).reshape(1, 3));
        }
        var counts = new int[3];
        const int draws = 6000;
        for (long step = 0; step < draws; step++)
        {
            using var scope = NewDisposeScope();
            counts[controller.Route(RoutingMode.Hard, 0.5, 11, step, 0)[0].Unit]++;
        }
        Assert.InRange(counts[0] / (double)draws, 0.67, 0.73);
        Assert.InRange(counts[1] / (double)draws, 0.17, 0.23);
        Assert.InRange(counts[2] / (double)draws, 0.08, 0.12);
    }

    [Fact]
    public void Should_weight_all_units_summing_to_one_and_sharpen_when_tau_falls()
    {
        var controller = new TaskController("t", 2, 4);
        double hotMax = 0, coldMax = 0;
        const int steps = 200;
        for (long step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var hot = controller.Route(RoutingMode.Soft, 5.0, 3, step, 1);
            var cold = controller.Route(RoutingMode.Soft, 0.01, 3, step, 1);
            foreach (var r in hot.Concat(cold))
            {
                Assert.True(r.IsSoft);
                Assert.Equal(1.0, r.Weights!.sum().item<float>(), 5);
            }
            hotMax += hot[0].Weights!.max().item<float>() / steps;
            coldMax += cold[0].Weights!.max().item<float>() / steps;
        }
        Assert.True(hotMax < 0.5, $"tau 5 keeps the weights spread (mean max weight {hotMax:0.###})");
        Assert.True(coldMax > 0.97, $"tau 0.01 is nearly one-hot (mean max weight {coldMax:0.###})");
    }

    [Fact]
    public void Should_run_only_the_chosen_unit_and_pass_gradient_to_the_controller_when_hard()
    {
        var net = Nets.Tiny(2, tasks: [("a", 3)]);
        var x = randn(2, 3, 8, 8);
        var request = new RouteRequest(RoutingMode.Hard, 1.0, 5, 17, 0);
        var routes = net.Controller("a").Route(RoutingMode.Hard, 1.0, 5, 17, 0);
        net.Forward("a", x, request).sum().backward();

        for (int l = 0; l < routes.Length; l++)
        {
            int chosen = routes[l].Unit;
            foreach (var (name, p) in net.Backbone.Layer(l).named_parameters())
            {
                bool inChosen = name.StartsWith($"units.{chosen}.", StringComparison.Ordinal);
                Assert.True(inChosen == p.grad is not null, $"layer {l} {name}: gradient {(p.grad is null ? "missing" : "present")}");
            }
        }
        var logitsGrad = net.Controller("a").Logits.grad;
        Assert.NotNull(logitsGrad);
        Assert.True(logitsGrad.abs().sum().item<float>() > 0, "straight-through gradient reaches the logits");
    }

    [Fact]
    public void Should_equal_the_weighted_sum_of_units_when_soft()
    {
        var net = Nets.Tiny(2, tasks: [("a", 3)]);
        net.eval(); // plain BN with running stats, so units are deterministic functions
        var x = randn(2, 3, 8, 8);
        var layer = net.Backbone.Layer(0);
        var w = tensor(new[] { 0.3f, 0.7f });
        var soft = layer.forward(x, LayerRoute.Soft(w));
        var manual = layer.Unit(0).forward(x) * 0.3f + layer.Unit(1).forward(x) * 0.7f;
        TensorAssert.Close(soft, manual, rtol: 1e-6, what: "soft layer");
    }

    [Fact]
    public void Should_run_the_argmax_unit_when_evaluating()
    {
        var net = Nets.Tiny(2, tasks: [("a", 3)]);
        using (no_grad())
        {
            net.Controller("a").Logits.copy_(tensor(new[] { 0f, 1, 2, -1, 0, 3 }).reshape(3, 2));
        }
        Assert.Equal([1, 0, 1], net.Controller("a").ArgMaxPath());
        var routes = net.Controller("a").Route(RoutingMode.ArgMax, 1.0, 0, 0, 0);
        Assert.Equal([1, 0, 1], routes.Select(r => r.Unit));
        Assert.All(routes, r => Assert.Null(r.Scale));
    }
}
