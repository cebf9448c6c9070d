using GppfActors.Model.Backbone;
using GppfActors.Tasks.Definitions;
using Xunit;

namespace GppfActors.Tasks.Tests.Definitions;

/// <summary>Task configs: the paper's defaults, errors that name the key, and the family registry.</summary>
public class TaskDefinitionSpecs
{
    private static readonly TaskDefinition Coco = new("coco", TaskFamily.Detection, "data/coco/train.json", 80, new InputSize(1024, 1024), 8, 2.5);

    [Fact]
    public void Should_carry_the_paper_defaults_when_options_are_not_given()
    {
        var task = new TaskDefinition("in21k", TaskFamily.Classification, "data/in21k", 21841, new InputSize(224, 224), 96, 4.0);

        Assert.Equal(0.1, task.Classification.LabelSmoothing);
        Assert.Equal(0.8, task.Classification.MixupAlpha);
        Assert.Equal(1.0, task.Classification.CutmixAlpha);
        Assert.Equal(0.5, task.Classification.SwitchProbability);
        Assert.Equal(1.0, task.LossWeight);
        Assert.Equal((0.25, 2.0, 0.6), (task.Detection.FocalAlpha, task.Detection.FocalGamma, task.Detection.NmsIouThreshold));
        Assert.Equal((0.85, 1.0), (task.Depth.SilogLambda, task.Depth.SilogScale));
        Assert.Same(task, task.Validate());
    }

    public static TheoryData<TaskDefinition, string> InvalidTasks => new()
    {
        { Coco with { BatchSize = 0 }, "tasks.coco.batch_size must be >= 1, got 0" },
        { Coco with { NumClasses = 0 }, "tasks.coco.num_classes must be >= 1, got 0" },
        { Coco with { SamplingWeight = 0 }, "tasks.coco.sampling_weight must be > 0, got 0" },
        { Coco with { SamplingWeight = -1 }, "tasks.coco.sampling_weight must be > 0, got -1" },
        { Coco with { SamplingWeight = double.NaN }, "tasks.coco.sampling_weight must be > 0, got NaN" },
        { Coco with { SamplingWeight = double.PositiveInfinity }, "tasks.coco.sampling_weight must be finite, got Infinity" },
        { Coco with { InputSize = new InputSize(0, 5) }, "tasks.coco.input_size.height must be >= 1, got 0" },
        { Coco with { Name = "co co" }, "tasks.name must be letters, digits, '_' or '-'" },
        { Coco with { Dataset = " " }, "tasks.coco.dataset must name the data" },
        { Coco with { Detection = new DetectionOptions(NmsIouThreshold: 1.5) }, "tasks.coco.detection.nms_iou_threshold must be in [0, 1], got 1.5" },
        { Coco with { Classification = new ClassificationOptions(LabelSmoothing: 1) }, "tasks.coco.classification.label_smoothing must be in [0, 1), got 1" },
        { Coco with { Family = TaskFamily.Depth }, "tasks.coco.num_classes must be 0 for a depth task" },
        { Coco with { Family = TaskFamily.SemanticSegmentation, NumClasses = 300 }, "tasks.coco.num_classes must be <= 255" },
        { Coco with { Depth = new DepthOptions(MinDepthMetres: 100) }, "tasks.coco.depth.min_depth_metres must be in (0, max_depth_metres = 80), got 100" },
    };

    [Theory]
    [MemberData(nameof(InvalidTasks))]
    public void Should_name_the_key_when_a_value_is_invalid(TaskDefinition task, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => task.Validate());

        Assert.StartsWith(expected, error.Message);
    }

    [Fact]
    public void Should_round_trip_every_family_name_when_presets_name_families()
    {
        Assert.Equal(Enum.GetValues<TaskFamily>(), TaskFamilies.All);
        foreach (var family in TaskFamilies.All)
        {
            Assert.Equal(family, TaskFamilies.Parse(TaskFamilies.KeyOf(family)));
        }
        var error = Assert.Throws<ArgumentException>(() => TaskFamilies.Parse("panoptic"));
        Assert.Contains("classification, detection, semantic_segmentation, depth", error.Message);
    }

    [Fact]
    public void Should_validate_the_task_when_the_registry_serves_it()
    {
        Assert.Throws<ArgumentException>(() => TaskFamilies.For(Coco with { BatchSize = -1 }, BackboneConfig.Tiny()));
        Assert.Equal(Coco, TaskFamilies.For(Coco, BackboneConfig.Tiny()).Task);
    }
}
