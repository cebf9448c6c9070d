using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Backbone;

public class BackboneSpecs
{
    // torchvision's resnet50 state keys without fc, derived from the architecture: 53 convs and 53 BNs.
    private static List<string> TorchvisionResNet50Keys()
    {
        string[] bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"];
        var keys = new List<string> { "conv1.weight" };
        keys.AddRange(bn.Select(s => $"bn1.{s}"));
        int[] depths = [3, 4, 6, 3];
        for (int s = 0; s < 4; s++)
        {
            for (int b = 0; b < depths[s]; b++)
            {
                for (int i = 1; i <= 3; i++)
                {
                    keys.Add($"layer{s + 1}.{b}.conv{i}.weight");
                    keys.AddRange(bn.Select(x => $"layer{s + 1}.{b}.bn{i}.{x}"));
                }
                if (b == 0)
                {
                    keys.Add($"layer{s + 1}.{b}.downsample.0.weight");
                    keys.AddRange(bn.Select(x => $"layer{s + 1}.{b}.downsample.1.{x}"));
                }
            }
        }
        return keys;
    }

    [Fact]
    public void Should_have_17_lego_layers_with_torchvision_keys_per_unit_when_resnet50()
    {
        using var scope = NewDisposeScope();
        var net = new GppfNetwork(BackboneConfig.ResNet50(2), [Nets.Classifier("in21k", 10)], 1);
        Assert.Equal(17, net.Backbone.NumLayers);
        var tv = TorchvisionResNet50Keys();
        Assert.Equal(318, tv.Count);

        var expected = new List<string>();
        foreach (var key in tv)
        {
            for (int k = 0; k < 2; k++)
            {
                expected.Add("backbone." + StaticKeyToDynamic(key, k));
            }
        }
        expected.Add("controllers.in21k.logits");
        expected.Add("heads.in21k.fc.weight");
        expected.Add("heads.in21k.fc.bias");
        var actual = net.state_dict().Keys.ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
        Assert.Equal([17L, 2L], net.Controller("in21k").Logits.shape);

        using var extracted = net.ExtractPath("in21k");
        Assert.Equal(tv.Order(StringComparer.Ordinal), extracted.state_dict().Keys.Order(StringComparer.Ordinal));
        long parameters = extracted.parameters().Sum(p => p.numel());
        Assert.Equal(23_508_032, parameters); // torchvision resnet50 (25,557,032) minus fc (2048*1000+1000)
    }

    private static string StaticKeyToDynamic(string key, int unit)
    {
        if (key.StartsWith("conv1.", StringComparison.Ordinal) || key.StartsWith("bn1.", StringComparison.Ordinal))
        {
            return $"stem.units.{unit}.{key}";
        }
        var p = key.Split('.', 3);
        return $"{p[0]}.{p[1]}.units.{unit}.{p[2]}";
    }

    [Theory]
    [InlineData("tiny", 2)]
    [InlineData("small", 3)]
    public void Should_match_the_dynamic_evaluation_output_when_a_path_is_extracted(string preset, int units)
    {
        using var scope = NewDisposeScope();
        var config = BackboneConfig.FromPreset(preset, units);
        var net = new GppfNetwork(config, [Nets.Classifier("a", 5), Nets.Classifier("b", 3)], 3);
        Nets.RandomiseNorms(net, 5);
        using (no_grad())
        {
            using var g = new Generator(9);
            net.Controller("b").Logits.copy_(randn(net.Controller("b").Logits.shape, generator: g));
        }
        net.eval();
        var path = net.Controller("b").ArgMaxPath();
        Assert.Contains(path, k => k != 0); // the test must exercise units other than 0

        var x = randn(3, 3, 32, 32);
        var dynamic = net.Features("b", x, RouteRequest.Eval);
        using var extracted = net.ExtractPath("b");
        var fixedStatic = extracted.forward(x);
        Assert.Equal(dynamic.Count, fixedStatic.Count);
        for (int s = 0; s < dynamic.Count; s++)
        {
            double diff = (dynamic[s] - fixedStatic[s]).abs().max().item<float>();
            Assert.True(diff <= 1e-5, $"stage {s}: max abs diff {diff}");
        }
        // The fixed-path route of the dynamic network gives the same as well.
        var viaPath = net.Features("b", x, RouteRequest.Path(path));
        Assert.True((viaPath[^1] - fixedStatic[^1]).abs().max().item<float>() <= 1e-5);
    }

    [Fact]
    public void Should_leave_the_frozen_layers_untouched_by_a_decaying_sgd_step_when_the_first_layers_are_frozen()
    {
        using var scope = NewDisposeScope();
        var net = new GppfNetwork(BackboneConfig.FromPreset("tiny", 2), [Nets.Classifier("a", 5)], 3);
        net.FreezeLayers(2);
        var path = Enumerable.Range(0, net.Backbone.NumLayers).Select(l => l % 2).ToArray();
        var before = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var frozen = Enumerable.Range(0, 2).SelectMany(l => net.Backbone.Layer(l).parameters()).ToHashSet(ReferenceEqualityComparer.Instance);
        Assert.NotEmpty(frozen);

        net.Forward("a", randn(4, 3, 32, 32), RouteRequest.Path(path)).square().sum().backward();
        using var sgd = Optimizers.Create(new OptimizerConfig(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 0.1), net.NamedParameters());
        sgd.Step(0.1);

        int moved = 0;
        foreach (var (name, p) in net.named_parameters())
        {
            bool isFrozen = frozen.Contains(p);
            Assert.Equal(!isFrozen, p.requires_grad);
            bool same = p.detach().eq(before[name]).all().item<bool>();
            if (isFrozen)
            {
                Assert.True(same, $"{name} is frozen but moved");
            }
            else if (!same)
            {
                moved++;
            }
        }
        // Every unit on the path after the frozen layers (and the head) learnt something.
        Assert.True(moved >= 4, $"only {moved} unfrozen parameters moved");
        Assert.Throws<ArgumentOutOfRangeException>(() => net.FreezeLayers(net.Backbone.NumLayers + 1));
    }

    [Theory]
    [InlineData("tiny", 2)]
    [InlineData("small", 3)]
    public void Should_start_fixed_path_fine_tuning_with_the_features_of_the_pre_trained_path(string preset, int units)
    {
        using var scope = NewDisposeScope();
        var config = BackboneConfig.FromPreset(preset, units);
        var pretrained = new GppfNetwork(config, [Nets.Classifier("a", 5)], 3);
        Nets.RandomiseNorms(pretrained, 5);
        pretrained.eval();
        // Every unit index in turn, so units other than 0 are read.
        var path = Enumerable.Range(0, pretrained.Backbone.NumLayers).Select(l => (l + 1) % units).ToArray();

        // A one-unit network with a new task: its only path is [0, 0, ...].
        var tuned = new GppfNetwork(config with { NumUnits = 1 }, [Nets.Classifier("downstream", 7)], 11);
        tuned.LoadPath(pretrained.state_dict(), path);
        tuned.eval();

        var x = randn(2, 3, 32, 32);
        var expected = pretrained.Features("a", x, RouteRequest.Path(path));
        var actual = tuned.Features("downstream", x, RouteRequest.Eval);
        Assert.Equal(expected.Count, actual.Count);
        for (int s = 0; s < expected.Count; s++)
        {
            Assert.Equal(expected[s].data<float>().ToArray(), actual[s].data<float>().ToArray());
        }
    }

    [Fact]
    public void Should_refuse_a_path_into_a_network_with_several_units_or_a_unit_the_state_lacks()
    {
        using var scope = NewDisposeScope();
        var config = BackboneConfig.FromPreset("tiny", 2);
        var pretrained = new GppfNetwork(config, [Nets.Classifier("a", 5)], 3);
        var zeros = new int[pretrained.Backbone.NumLayers];

        var several = new GppfNetwork(config, [Nets.Classifier("b", 5)], 3);
        Assert.Contains("backbone.num_units = 1", Assert.Throws<ArgumentException>(() => several.LoadPath(pretrained.state_dict(), zeros)).Message);

        var tuned = new GppfNetwork(config with { NumUnits = 1 }, [Nets.Classifier("b", 5)], 3);
        var before = tuned.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var beyond = zeros.Select((_, l) => l == 1 ? 2 : 0).ToArray();
        var e = Assert.Throws<ArgumentException>(() => tuned.LoadPath(pretrained.state_dict(), beyond));
        Assert.Contains("units.2.", e.Message);
        Assert.All(tuned.state_dict(), kv => Assert.True(kv.Value.eq(before[kv.Key]).all().item<bool>(), $"{kv.Key} changed"));
    }

    [Fact]
    public void Should_name_the_key_when_the_config_is_invalid()
    {
        var e = Assert.Throws<ArgumentException>(() => (BackboneConfig.Small() with { NumUnits = 0 }).Validate());
        Assert.Contains("backbone.num_units", e.Message);
        e = Assert.Throws<ArgumentException>(() => (BackboneConfig.Small() with { StageWidths = [8, 16] }).Validate());
        Assert.Contains("backbone.stage_widths", e.Message);
        e = Assert.Throws<ArgumentException>(() => BackboneConfig.FromPreset("resnet51", 2));
        Assert.Contains("resnet50", e.Message);
    }

    [Fact]
    public void Should_be_a_plain_resnet_when_n_is_one()
    {
        using var scope = NewDisposeScope();
        var net = new GppfNetwork(BackboneConfig.Tiny(1), [Nets.Classifier("a", 3)], 2);
        var routes = net.Controller("a").Route(RoutingMode.Soft, 5.0, 1, 1, 0);
        Assert.All(routes, r => Assert.Equal(0, r.Unit));
        Assert.All(routes, r => Assert.False(r.IsSoft));
        net.Forward("a", randn(2, 3, 8, 8), new RouteRequest(RoutingMode.Soft, 5.0, 1, 1, 0)).sum().backward();
        Assert.Null(net.Controller("a").Logits.grad); // a single unit needs no routing
    }
}

public class FineTuningSpecs
{
    [Fact]
    public void Should_start_a_new_task_from_the_pretrained_backbone_and_follow_a_borrowed_path()
    {
        using var scope = NewDisposeScope();
        var pretrained = Nets.Tiny(2, seed: 1, ("coco", 4));
        Nets.RandomiseNorms(pretrained, 2);
        using (no_grad())
        {
            pretrained.Controller("coco").Logits.copy_(tensor(new[] { 0f, 2, 3, 0, 0, 1 }).reshape(3, 2));
        }
        var finetune = Nets.Tiny(2, seed: 9, ("coco", 4), ("voc", 3));
        finetune.LoadPretrained(pretrained.state_dict(), ["coco"]);

        foreach (var (key, value) in pretrained.state_dict())
        {
            TensorAssert.Equal(finetune.state_dict()[key], value, key);
        }
        // Fixed-path fine-tuning of the new task along the path of a related one.
        var path = pretrained.Controller("coco").ArgMaxPath();
        Assert.Equal([1, 0, 1], path);
        finetune.eval();
        pretrained.eval();
        var x = randn(2, 3, 8, 8);
        var viaBorrowedPath = finetune.Features("voc", x, RouteRequest.Path(path))[^1];
        var original = pretrained.Features("coco", x, RouteRequest.Eval)[^1];
        TensorAssert.Close(viaBorrowedPath, original, rtol: 1e-6, what: "same path, same backbone");

        var wrong = Nets.Tiny(1, seed: 3, ("coco", 4));
        var e = Assert.Throws<ArgumentException>(() => wrong.LoadPretrained(pretrained.state_dict(), ["coco"]));
        Assert.Contains("controllers.coco.logits: shape [3, 2], expected [3, 1]", e.Message);
    }
}
