using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Heads;
using GppfActors.Tasks.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Heads;

/// <summary>Head geometry and output contracts for every family, on backbones with different strides and odd input sizes.</summary>
public class HeadSpecs
{
    private static readonly BackboneConfig SmallWithPool = BackboneConfig.Small(1) with { StemMaxPool = true };

    public static TheoryData<string> Backbones => ["tiny", "small", "small-pool"];

    private static BackboneConfig Backbone(string name) => name switch
    {
        "tiny" => BackboneConfig.Tiny(1),
        "small" => BackboneConfig.Small(1),
        _ => SmallWithPool,
    };

    private static GppfNetwork Network(BackboneConfig backbone, TaskDefinition task) =>
        new(backbone, TaskFamilies.HeadSpecs([task], backbone), seed: 2);

    [Theory]
    [MemberData(nameof(Backbones))]
    public void Should_predict_every_stage_size_when_the_input_is_not_a_multiple_of_the_stride(string name)
    {
        var backbone = Backbone(name);
        var task = TinyData.Task(TaskFamily.Classification);
        using var network = Network(backbone, task);
        network.eval();
        using var scope = NewDisposeScope();
        var input = new InputSize(37, 29);

        var features = network.Features(task.Name, zeros([1, 3, input.Height, input.Width]), RouteRequest.Eval);

        var strides = BackboneGeometry.StageStrides(backbone);
        Assert.Equal(features.Count, strides.Count);
        for (int s = 0; s < strides.Count; s++)
        {
            var expected = BackboneGeometry.FeatureSize(input, strides[s]);
            Assert.Equal([expected.Height, expected.Width], features[s].shape.Skip(2).Select(v => (int)v));
        }
    }

    public static TheoryData<TaskFamily> Families => [.. TaskFamilies.All];

    [Theory]
    [MemberData(nameof(Families))]
    public void Should_return_the_packed_shape_of_its_family_when_run_on_an_odd_sized_input(TaskFamily family)
    {
        var backbone = BackboneConfig.Small(1);                                 // finest stride 2
        var task = TinyData.Task(family, batchSize: 2);
        using var network = Network(backbone, task);
        network.eval();
        using var scope = NewDisposeScope();
        var input = new InputSize(31, 27);

        var output = network.Forward(task.Name, randn([2, 3, 31, 27]), RouteRequest.Eval);

        long[] expected = family switch
        {
            TaskFamily.Classification => [2, task.NumClasses],
            TaskFamily.Detection => [2, FcosLayout.For(backbone, task.Detection, input).NumLocations, task.NumClasses + 5],
            TaskFamily.SemanticSegmentation => [2, task.NumClasses, 32, 28],    // ceil(31 / 2) * 2 = 32: cropped by loss and evaluator
            TaskFamily.InstanceSegmentation => [2, FcosLayout.For(backbone, task.Detection, input).NumLocations + MaskCells(backbone, task, input),
                task.NumClasses + 5 + task.InstanceSegmentation.NumDynamicParams],
            _ => [2, 1, 32, 28],
        };
        Assert.Equal(expected, output.shape);
        if (family == TaskFamily.Depth)
        {
            // exp(x) is positive but not bounded above: the evaluator, not the head, clamps to the depth range.
            Assert.True(output.gt(0).all().item<bool>() && output.isfinite().all().item<bool>(), "depth must be positive and finite");
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Should_reach_every_backbone_and_head_parameter_without_batch_norm_when_back_propagating(TaskFamily family)
    {
        // Every device's backward must reach every backbone layer (so all issue the same SyncBN
        // collectives) and heads normalise with GroupNorm only (no statistics across tasks).
        var task = TinyData.Task(family, batchSize: 2);
        using var network = Network(BackboneConfig.Tiny(1), task);
        using var scope = NewDisposeScope();

        network.Forward(task.Name, randn([2, 3, 16, 16]), new RouteRequest(Model.Routing.RoutingMode.Soft, 1, 0, 0, 0)).sum().backward();

        var missing = network.named_parameters()
            .Where(p => !p.name.StartsWith("controllers.", StringComparison.Ordinal) && p.parameter.grad is null)
            .Select(p => p.name).ToArray();
        Assert.Empty(missing);
        var batchNorms = network.Head(task.Name).named_modules()
            .Where(m => m.module.GetType().Name.Contains("BatchNorm", StringComparison.Ordinal)).Select(m => m.name).ToArray();
        Assert.Empty(batchNorms);
    }

    /// <summary>Cells of the finest detection level, computed here from the strides, not from the head's layout type.</summary>
    private static int MaskCells(BackboneConfig backbone, TaskDefinition task, InputSize input)
    {
        var strides = BackboneGeometry.StageStrides(backbone);
        int finest = strides[strides.Count - Math.Min(task.Detection.NumLevels, strides.Count)];
        return ((input.Height + finest - 1) / finest) * ((input.Width + finest - 1) / finest);
    }

    [Fact]
    public void Should_start_mid_range_at_half_the_max_depth_when_untrained()
    {
        // The output bias starts at ln(max / 2) and the output weights near 0 (std 0.01), so the log-depth is centred on
        // ln(max / 2) = ln 6 and every pixel starts well inside the range (0, 12 m), far from where a capped head saturates.
        var task = TinyData.Task(TaskFamily.Depth, batchSize: 2);
        using var network = Network(BackboneConfig.Small(1), task);
        network.eval();
        using var scope = NewDisposeScope();

        var output = network.Forward(task.Name, randn([2, 3, 32, 32]), RouteRequest.Eval);

        double max = task.Depth.MaxDepthMetres;
        Assert.InRange(output.log().mean().item<float>(), Math.Log(max / 2) - 0.1, Math.Log(max / 2) + 0.1);
        Assert.InRange(output.min().item<float>(), max / 4, max);
        Assert.InRange(output.max().item<float>(), max / 4, max);
    }

    [Fact]
    public void Should_start_group_norms_at_identity_when_created()
    {
        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised; ours must be 1 and 0.
        using var gn = GroupNorms.Create(16);

        Assert.True(gn.weight!.eq(1).all().item<bool>());
        Assert.True(gn.bias!.eq(0).all().item<bool>());
        Assert.Equal(8, GroupNorms.Groups(16));
        Assert.Equal(32, GroupNorms.Groups(256));
        Assert.Equal(1, GroupNorms.Groups(3));
    }
}
