using GppfActors.Actors.Sampling;
using GppfActors.ClusterConfig.Jobs;
using GppfActors.ClusterConfig.Workloads;
using GppfActors.Model.Backbone;
using GppfActors.Model.Optim;
using GppfActors.Model.Precision;
using GppfActors.Model.Routing;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Layouts;
using Xunit;

namespace GppfActors.ClusterConfig.Tests;

public class JobConfigLoaderSpecs
{
    [Fact]
    public void Should_carry_the_paper_recipe_verbatim_when_loading_paper_r50()
    {
        var (job, _) = JobConfigLoader.Load("paper-r50", []);
        Assert.Equal(["in21k", "coco", "lvis", "objects365", "openimages", "ade20k", "cocostuff", "voc"], job.Tasks.Select(t => t.Name));
        Assert.Equal([4.0, 2.5, 2.5, 4.0, 4.0, 1.0, 2.0, 1.0], job.Tasks.Select(t => t.SamplingWeight));
        Assert.Equal([96, 8, 8, 12, 12, 8, 8, 8], job.Tasks.Select(t => t.BatchSize));
        // COCO and LVIS train detection and instance segmentation (the paper's Mask R-CNN tasks).
        Assert.Equal([TaskFamily.Classification, TaskFamily.InstanceSegmentation, TaskFamily.InstanceSegmentation, TaskFamily.Detection,
            TaskFamily.Detection, TaskFamily.SemanticSegmentation, TaskFamily.SemanticSegmentation, TaskFamily.SemanticSegmentation], job.Tasks.Select(t => t.Family));
        Assert.Equal(OptimizerKind.Sgd, job.Optimizer.Kind);
        Assert.Equal(0.16, job.Optimizer.Lr);
        Assert.Equal(0.9, job.Optimizer.Momentum);
        Assert.Equal(5e-4, job.Optimizer.WeightDecay);
        Assert.Equal(50_000, job.Optimizer.WarmupSteps);
        Assert.Equal(500_000, job.Train.MaxSteps);
        Assert.Equal((5.0, 0.01, 450_000L), (job.Routing.Tau0, job.Routing.TauMin, job.Routing.TauDecaySteps));
        Assert.Equal(RoutingMode.Soft, job.Routing.Mode);
        Assert.Equal(("resnet50", 2), (job.Backbone.Preset, job.Backbone.NumUnits));
        Assert.Equal(17, job.BackboneConfig.NumLayers);
        Assert.Equal(CheckpointingMode.All, job.Backbone.ActivationCheckpointing);   // "Model Checkpoint is used"
        Assert.Equal(SamplingMode.Simt, job.Sampling.Mode);
        Assert.True(job.SyncBatchNorm);
        var in21k = job.Tasks[0].Classification;
        Assert.Equal((0.1, 0.8, 1.0), (in21k.LabelSmoothing, in21k.MixupAlpha, in21k.CutmixAlpha));
    }

    [Theory]
    [InlineData("paper-r50")]
    [InlineData("paper-swint")]
    public void Should_name_each_paper_dataset_in_the_layout_it_is_distributed_in(string preset)
    {
        var (job, _) = JobConfigLoader.Load(preset, []);

        Assert.Equal(["imagenet", "coco", "lvis", "objects365", "openimages", "ade20k", "coco-stuff", "voc"],
            job.Tasks.Select(t => DatasetLayouts.Parse(t).Layout.Prefix));
    }

    [Fact]
    public void Should_differ_from_paper_r50_only_in_backbone_and_optimizer_when_loading_paper_swint()
    {
        var (r50, _) = JobConfigLoader.Load("paper-r50", []);
        var (swin, _) = JobConfigLoader.Load("paper-swint", []);
        Assert.Equal(("swin_t", 2), (swin.Backbone.Preset, swin.Backbone.NumUnits));
        Assert.Equal(13, swin.BackboneConfig.NumLayers);
        Assert.Equal(CheckpointingMode.All, swin.Backbone.ActivationCheckpointing);
        Assert.Equal((OptimizerKind.AdamW, 1e-4, 0.05), (swin.Optimizer.Kind, swin.Optimizer.Lr, swin.Optimizer.WeightDecay));
        Assert.Equal(r50.Tasks, swin.Tasks);
        Assert.Equal(r50 with { Name = swin.Name, Backbone = swin.Backbone, Optimizer = swin.Optimizer, Checkpoint = swin.Checkpoint, Tasks = swin.Tasks }, swin);
        Assert.Equal(r50.Optimizer with { Kind = OptimizerKind.AdamW, Lr = 1e-4, WeightDecay = 0.05 }, swin.Optimizer with { Momentum = r50.Optimizer.Momentum });
    }

    [Fact]
    public void Should_load_the_small_cpu_recipe_with_three_families_of_different_input_sizes()
    {
        var (job, json) = JobConfigLoader.Load("cpu-small", []);
        Assert.Equal([TaskFamily.Classification, TaskFamily.Detection, TaskFamily.SemanticSegmentation], job.Tasks.Select(t => t.Family));
        Assert.True(job.Tasks.Select(t => t.InputSize).Distinct().Count() > 1);
    }

    [Fact]
    public void Should_restore_every_section_and_task_when_the_resolved_json_is_read_back()
    {
        var (job, json) = JobConfigLoader.Load("cpu-small", []);

        var restored = JobConfigLoader.FromResolvedJson(json);

        // Records compare list members by reference, so the task list and each task's pool scales are compared by
        // content, each on its own; everything else by record equality. Nothing is copied from one side to the other
        // before it has been compared.
        IReadOnlyList<TaskDefinition> none = [];
        Assert.Equal(job with { Tasks = none }, restored with { Tasks = none });
        Assert.Equal(job.Tasks.Count, restored.Tasks.Count);
        foreach (var (expected, actual) in job.Tasks.Zip(restored.Tasks))
        {
            Assert.Equal(expected.Segmentation.Bins, actual.Segmentation.Bins);
            Assert.Equal(expected with { Segmentation = expected.Segmentation with { PoolScales = null } },
                actual with { Segmentation = actual.Segmentation with { PoolScales = null } });
        }
        Assert.Equal([1, 2, 4], restored.Tasks.Single(t => t.Name == "shapes_seg").Segmentation.Bins);
    }

    [Fact]
    public void Should_apply_overrides_by_dotted_key_and_task_name()
    {
        var (job, _) = JobConfigLoader.Load("cpu-small",
            ["optimizer.lr=0.08", "tasks.shapes_det.batch_size=2", "routing.mode=hard", "sync_batch_norm=false", "train.devices=cpu:4", "sampling.mode=per_batch"]);
        Assert.Equal(0.08, job.Optimizer.Lr);
        Assert.Equal(2, job.Tasks.Single(t => t.Name == "shapes_det").BatchSize);
        Assert.Equal(RoutingMode.Hard, job.Routing.Mode);
        Assert.False(job.SyncBatchNorm);
        Assert.Equal("cpu:4", job.Train.Devices);
        Assert.Equal(SamplingMode.PerBatch, job.Sampling.Mode);
    }

    [Fact]
    public void Should_train_in_fp32_unless_bf16_is_asked_for_and_keep_the_precision_in_the_resolved_json()
    {
        var (plain, _) = JobConfigLoader.Load("cpu-small", []);
        Assert.Equal(ComputePrecision.Fp32, plain.Train.Precision);

        var (job, json) = JobConfigLoader.Load("cpu-small", ["train.precision=bf16"]);
        Assert.Equal(ComputePrecision.Bf16, job.Train.Precision);
        Assert.Contains("\"precision\": \"bf16\"", json);
        Assert.Equal(ComputePrecision.Bf16, JobConfigLoader.FromResolvedJson(json).Train.Precision);
        using var network = TaskWorkload.BuildNetwork(job);
        Assert.Equal(ComputePrecision.Bf16, network.Precision);
    }

    [Theory]
    [InlineData("optimizer.lr=-1", "optimizer.lr")]
    [InlineData("tasks.shapes_cls.batch_size=0", "tasks.shapes_cls.batch_size")]
    [InlineData("routing.mode=sideways", "routing.mode")]
    [InlineData("optimizer.learning_rate=0.1", "learning_rate")]
    [InlineData("train.devices=gpu:1", "--devices")]
    [InlineData("tasks.nosuch.batch_size=3", "no entry named 'nosuch'")]
    [InlineData("checkpoint.keep_last=0", "checkpoint.keep_last")]
    [InlineData("checkpoint.journal=mysql", "checkpoint.journal")]
    [InlineData("checkpoint.journal_connection_env=not a name", "checkpoint.journal_connection_env")]
    [InlineData("train.intra_op_threads=-1", "train.intra_op_threads")]
    [InlineData("train.max_steps=20", "optimizer.warmup_steps")]
    [InlineData("observability.web_port=70000", "observability.web_port")]
    [InlineData("observability.web_host=not an address", "observability.web_host")]
    [InlineData("observability.metrics_port=70000", "observability.metrics_port")]
    [InlineData("observability.metrics_port=-1", "observability.metrics_port")]
    [InlineData("observability.metrics_host=", "observability.metrics_host")]
    [InlineData("backbone.activation_checkpointing=some", "backbone.activation_checkpointing")]
    [InlineData("backbone.activation_checkpointing_every=0", "backbone.activation_checkpointing_every")]
    [InlineData("train.precision=fp16", "train.precision")]
    public void Should_name_the_key_when_a_value_is_invalid(string assignment, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => JobConfigLoader.Load("cpu-small", [assignment]));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("init.mode", "init.checkpoint=runs/pre", "init.mode=sideways")]
    [InlineData("backbone.num_units", "init.checkpoint=runs/pre", "init.mode=fixed", "init.path_from=coco")]
    [InlineData("init.path", "init.checkpoint=runs/pre", "init.mode=fixed", "backbone.num_units=1")]
    [InlineData("init.path", "init.checkpoint=runs/pre", "init.mode=fixed", "backbone.num_units=1", "init.path_from=coco", "init.path=[0,0,0,0,0]")]
    [InlineData("init.path", "init.checkpoint=runs/pre", "init.mode=fixed", "backbone.num_units=1", "init.path=[0,1]")]
    [InlineData("init.path", "init.checkpoint=runs/pre", "init.path_from=coco")]
    [InlineData("init.checkpoint", "init.freeze_layers=2")]
    [InlineData("init.checkpoint", "init.path_from=coco")]
    [InlineData("init.freeze_layers", "init.checkpoint=runs/pre", "init.freeze_layers=6")]
    [InlineData("init.freeze_layers", "init.checkpoint=runs/pre", "init.freeze_layers=-1")]
    public void Should_name_the_key_when_a_fine_tuning_start_does_not_hold_together(string expected, params string[] assignments)
    {
        var e = Assert.Throws<ArgumentException>(() => JobConfigLoader.Load("cpu-small", assignments));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Should_keep_the_fine_tuning_start_when_the_resolved_json_is_read_back()
    {
        var (fresh, _) = JobConfigLoader.Load("cpu-small", []);
        Assert.False(fresh.Init.FromCheckpoint);

        var (job, json) = JobConfigLoader.Load("cpu-small", ["init.checkpoint=runs/pre/step-00000100", "init.mode=fixed", "backbone.num_units=1",
            "init.path=[1,0,1,1,0]", "init.freeze_layers=5"]);
        var back = JobConfigLoader.FromResolvedJson(json).Init;
        Assert.True(back.FromCheckpoint);
        Assert.Equal(("runs/pre/step-00000100", "fixed", 5), (back.Checkpoint, back.Mode, back.FreezeLayers));
        Assert.Equal([1, 0, 1, 1, 0], back.Path);
        Assert.Equal(job.Init.Path, back.Path);
    }

    [Fact]
    public void Should_checkpoint_every_kth_lego_layer_when_activation_checkpointing_is_every_k()
    {
        var (plain, _) = JobConfigLoader.Load("cpu-small", []);
        Assert.Equal(ActivationCheckpointing.Off, plain.BackboneConfig.ActivationCheckpointing);

        var (job, json) = JobConfigLoader.Load("cpu-small", ["backbone.activation_checkpointing=every_k", "backbone.activation_checkpointing_every=3"]);
        Assert.Equal(ActivationCheckpointing.EveryKth(3), job.BackboneConfig.ActivationCheckpointing);
        Assert.Contains("\"activation_checkpointing\":\"every_k\"", json.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(job.Backbone, JobConfigLoader.FromResolvedJson(json).Backbone);
    }

    [Fact]
    public void Should_name_the_file_and_line_when_the_job_file_is_broken()
    {
        string path = Path.Combine(Path.GetTempPath(), $"gppf-job-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{\n  \"name\": \"x\",\n  \"seed\": ,\n}");
        try
        {
            var e = Assert.Throws<ArgumentException>(() => JobConfigLoader.Load(path, []));
            Assert.Contains(path, e.Message);
            Assert.Contains("line 3", e.Message);
            e = Assert.Throws<ArgumentException>(() => JobConfigLoader.Load("no-such-preset", []));
            Assert.Contains("cpu-small", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
