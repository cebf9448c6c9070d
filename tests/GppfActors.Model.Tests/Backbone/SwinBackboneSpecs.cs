using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Model.Routing;
using GppfActors.Model.Tests.Training;
using GppfActors.Model.Training;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Backbone;

public class SwinBackboneSpecs
{
    // torchvision's swin_t state keys without its head, written from the architecture (features.0 the
    // patch embedding, features.{1,3,5,7} the stages, features.{2,4,6} patch merging, norm), followed by
    // the stage output norms of the first three stages that this backbone adds (mmdet's norm0..norm2).
    private static List<string> TorchvisionSwinTKeys()
    {
        var keys = new List<string> { "features.0.0.weight", "features.0.0.bias", "features.0.2.weight", "features.0.2.bias" };
        int[] depths = [2, 2, 6, 2];
        for (int s = 0; s < 4; s++)
        {
            for (int b = 0; b < depths[s]; b++)
            {
                string p = $"features.{2 * s + 1}.{b}.";
                keys.AddRange([p + "norm1.weight", p + "norm1.bias",
                    p + "attn.qkv.weight", p + "attn.qkv.bias", p + "attn.proj.weight", p + "attn.proj.bias",
                    p + "attn.relative_position_bias_table", p + "attn.relative_position_index",
                    p + "norm2.weight", p + "norm2.bias", p + "mlp.0.weight", p + "mlp.0.bias", p + "mlp.3.weight", p + "mlp.3.bias"]);
            }
            if (s < 3)
            {
                keys.AddRange([$"features.{2 * s + 2}.reduction.weight", $"features.{2 * s + 2}.norm.weight", $"features.{2 * s + 2}.norm.bias"]);
            }
        }
        keys.AddRange(["norm.weight", "norm.bias"]);
        return keys;
    }

    private static readonly string[] StageNormKeys = ["norm0.weight", "norm0.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"];

    [Fact]
    public void Should_have_13_lego_layers_and_torchvision_swin_t_keys_when_a_path_is_extracted()
    {
        using var scope = NewDisposeScope();
        var net = new GppfNetwork(BackboneConfig.SwinT(2), [Nets.Classifier("in21k", 10)], 1);
        Assert.Equal(13, net.Backbone.NumLayers);
        Assert.Equal([13L, 2L], net.Controller("in21k").Logits.shape);
        Assert.Equal([96L, 192, 384, 768], net.Config.StageChannels);

        var keys = net.state_dict().Keys.ToList();
        Assert.Contains("backbone.features.0.units.1.0.weight", keys);
        Assert.Contains("backbone.features.5.5.units.1.attn.relative_position_bias_table", keys);
        Assert.Contains("backbone.features.6.reduction.weight", keys); // shared, not a lego layer
        Assert.DoesNotContain(keys, k => k.Contains("running_mean", StringComparison.Ordinal));
        Assert.All(keys.Where(k => k.StartsWith("backbone.", StringComparison.Ordinal)),
            k => Assert.Matches(@"^backbone\.(features\.\d+\.|norm\d?\.)", k));

        using var extracted = net.ExtractPath("in21k");
        var expected = TorchvisionSwinTKeys().Concat(StageNormKeys);
        Assert.Equal(expected.Order(StringComparer.Ordinal), extracted.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal([169L, 3L], extracted.state_dict()["features.1.0.attn.relative_position_bias_table"].shape);
        Assert.Equal([2401L], extracted.state_dict()["features.1.0.attn.relative_position_index"].shape);

        // torchvision's swin_t has 28,288,354 parameters, its head 768 * 1000 + 1000 of them; the stage norms add 2 * (96 + 192 + 384).
        long parameters = extracted.parameters().Sum(p => p.numel());
        Assert.Equal(28_288_354 - 769_000 + 1_344, parameters);
    }

    [Theory]
    [InlineData(36, 36)]   // 18 x 18 tokens: windows padded at every stage, odd sizes merged (9 -> 5 -> 3)
    [InlineData(32, 40)]   // 16 x 20 tokens
    public void Should_match_the_dynamic_evaluation_output_when_a_swin_path_is_extracted(int height, int width)
    {
        using var scope = NewDisposeScope();
        var config = BackboneConfig.SwinSmall(2);
        var net = new GppfNetwork(config, [Nets.Classifier("a", 5), Nets.Classifier("b", 3), Nets.Classifier("c", 4)], 3);
        Nets.RandomiseNorms(net, 5);
        using (no_grad())
        {
            using var g = new Generator(9);
            net.Controller("b").Logits.copy_(randn(net.Controller("b").Logits.shape, generator: g));
        }
        net.eval();
        var path = net.Controller("b").ArgMaxPath();
        Assert.Contains(path, k => k != 0);
        Assert.Contains(path, k => k == 0);

        var x = randn(3, 3, height, width);
        var dynamic = net.Features("b", x, RouteRequest.Eval);
        using var extracted = net.ExtractPath("b");
        var fixedStatic = extracted.forward(x);
        Assert.Equal(4, fixedStatic.Count);
        int[] strides = [2, 4, 8, 16];
        for (int s = 0; s < 4; s++)
        {
            Assert.Equal([3L, 24L << s, (height + strides[s] - 1) / strides[s], (width + strides[s] - 1) / strides[s]], fixedStatic[s].shape);
            double diff = (dynamic[s] - fixedStatic[s]).abs().max().item<float>();
            Assert.True(diff <= 1e-5, $"stage {s}: max abs diff {diff}");
        }
        var viaPath = net.Features("b", x, RouteRequest.Path(path));
        Assert.True((viaPath[^1] - fixedStatic[^1]).abs().max().item<float>() <= 1e-5);
    }

    [Theory]
    [InlineData(RoutingMode.Soft)]
    [InlineData(RoutingMode.Hard)]
    public void Should_issue_no_norm_collectives_when_a_swin_step_runs_on_two_devices(RoutingMode mode)
    {
        var swin = Operations(BackboneConfig.SwinSmall(2), mode);
        Assert.All(swin, ops => Assert.Equal(["task-average", "task-average"], ops));
        // The same steps over a ResNet do issue SyncBN collectives, so the recorder sees them.
        var resnet = Operations(BackboneConfig.Tiny(2), mode);
        Assert.All(resnet, ops => Assert.Contains(ops, o => o.StartsWith("syncbn-", StringComparison.Ordinal)));
    }

    // Two steps on two devices (after aligning the replicas); the operations each device issued during the steps.
    private static List<string>[] Operations(BackboneConfig config, RoutingMode mode) =>
        Devices.Run(2, (rank, group) =>
        {
            var tasks = new[] { ToyTasks.Colour, ToyTasks.Stripes }.Select(t => Nets.Classifier(t.Name, t.Classes)).ToArray();
            using var replica = new Replica(new GppfNetwork(config, tasks, 100 + rank), new OptimizerConfig(OptimizerKind.AdamW));
            replica.AlignFrom(group);
            var recording = new RecordingGroup(group);   // not disposed: the caller owns the group
            for (long step = 0; step < 2; step++)
            {
                var plan = ToyTraining.Plan(step, rank, 2, mode);
                var result = replica.TrainStep(recording, plan, (net, request) => ToyTraining.Loss(net, request, plan, rank));
                Assert.True(result.Applied);
            }
            return recording.AllReduces.ToList();
        });

    [Fact]
    public void Should_name_the_key_when_a_swin_config_is_invalid()
    {
        var e = Assert.Throws<ArgumentException>(() => (BackboneConfig.SwinT() with { NumHeads = [3, 6, 12] }).Validate());
        Assert.Contains("backbone.num_heads", e.Message);
        e = Assert.Throws<ArgumentException>(() => (BackboneConfig.SwinT() with { NumHeads = [3, 5, 12, 24] }).Validate());
        Assert.Contains("backbone.num_heads", e.Message);
        e = Assert.Throws<ArgumentException>(() => (BackboneConfig.SwinSmall() with { WindowSize = 0 }).Validate());
        Assert.Contains("backbone.window_size", e.Message);
        Assert.Equal(BackboneFamily.Swin, BackboneConfig.FromPreset("swin_small", 1).Family);
    }

    [Fact]
    public void Should_not_decay_relative_position_bias_tables()
    {
        using var scope = NewDisposeScope();
        var net = new GppfNetwork(BackboneConfig.SwinSmall(1), [Nets.Classifier("a", 3)], 1);
        var parameters = net.NamedParameters();
        Assert.All(parameters.Where(p => p.Name.EndsWith("relative_position_bias_table", StringComparison.Ordinal)),
            p => Assert.False(ParameterGroups.UsesWeightDecay(p.Name, p.Parameter)));
        Assert.True(ParameterGroups.UsesWeightDecay("backbone.features.1.0.units.0.attn.qkv.weight",
            parameters.Single(p => p.Name == "backbone.features.1.0.units.0.attn.qkv.weight").Parameter));
    }
}
