using System.Text.Json;
using GppfActors.Actors.Checkpointing;
using GppfActors.Model.Checkpoints;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GppfActors.Host.Tests;

/// <summary>
/// <c>gppf finetune</c> as a user runs it, on two devices: a depth task held out of a short
/// pre-training run (classification, detection, segmentation) is fine-tuned along a pre-trained
/// task's fixed path, dynamically, and retrained along the path the dynamic run learned.
/// </summary>
public sealed class FinetuneProcessSpecs(SyntheticDataFixture fixture, ITestOutputHelper output) : IClassFixture<SyntheticDataFixture>
{
    private const int Layers = 5;                                   // the small backbone: stem + 4 blocks

    [Fact]
    public void Should_fine_tune_the_arg_max_path_of_a_pre_trained_task_with_its_first_layers_frozen_when_the_path_is_fixed()
    {
        string pretrained = fixture.Reference(6, 6);
        var source = Model(pretrained, 6);
        var path = ArgMaxPath(source, "shapes_cls");

        string run = Path.Combine(fixture.Root, "fixed");
        var result = GppfProcess.Run(fixture.Root, Finetune(run, 4, "--from", pretrained, "--path-from", "shapes_cls", "--freeze-layers", "2"));
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains($"along [{string.Join(", ", path)}], the arg-max path of task shapes_cls", result.Output);

        var tuned = Model(run, 4);
        Assert.Contains("heads.shapes_depth.", string.Join(' ', tuned.Keys));
        Assert.DoesNotContain(tuned.Keys, k => k.Contains(".units.1.", StringComparison.Ordinal));        // one unit per layer
        // The stem and the first block are frozen: exactly the pre-trained units of the path.
        foreach (var key in Parameters(tuned, "backbone.stem.", "backbone.layer1.0."))
        {
            string layerPrefix = key.StartsWith("backbone.stem.", StringComparison.Ordinal) ? "backbone.stem.units." : "backbone.layer1.0.units.";
            int unit = key.StartsWith("backbone.stem.", StringComparison.Ordinal) ? path[0] : path[1];
            string sourceKey = layerPrefix + unit + key[(layerPrefix.Length + 1)..];
            Assert.True(tuned[key].eq(source[sourceKey]).all().item<bool>(), $"{key} moved or is not {sourceKey}");
        }
        // The blocks after them were trained from the path's units.
        var later = Parameters(tuned, "backbone.layer4.0.").ToList();
        Assert.NotEmpty(later);
        Assert.Contains(later, key => !tuned[key].eq(source[key.Replace(".units.0.", $".units.{path[4]}.", StringComparison.Ordinal)]).all().item<bool>());
    }

    [Fact]
    public void Should_learn_and_report_the_new_task_path_and_retrain_along_it_when_fine_tuning_dynamically()
    {
        string pretrained = fixture.Reference(6, 6);
        var source = Model(pretrained, 6);

        string dynamicRun = Path.Combine(fixture.Root, "dynamic");
        var dynamic = GppfProcess.Run(fixture.Root, Finetune(dynamicRun, 4, "--from", pretrained, "--mode", "dynamic", "--freeze-layers", "1"));
        Assert.True(dynamic.ExitCode == 0, dynamic.Output);
        Assert.Contains("every task is new", dynamic.Output);

        var tuned = Model(dynamicRun, 4);
        Assert.Equal([Layers, 2], tuned["controllers.shapes_depth.logits"].shape);
        // Both stem units are frozen at their pre-trained values; the blocks after the stem were trained.
        var stem = Parameters(tuned, "backbone.stem.").ToList();
        Assert.Contains(stem, k => k.Contains(".units.1.", StringComparison.Ordinal));
        Assert.All(stem, key => Assert.True(tuned[key].eq(source[key]).all().item<bool>(), $"{key} moved"));
        Assert.Contains(Parameters(tuned, "backbone.layer4.0."), key => !tuned[key].eq(source[key]).all().item<bool>());

        // The learned path, as printed and as written to paths.json, is the arg-max of the final controller.
        var learned = ArgMaxPath(tuned, "shapes_depth");
        Assert.Contains($"learned path of shapes_depth: [{string.Join(", ", learned)}]", dynamic.Output);
        using (var paths = JsonDocument.Parse(File.ReadAllText(Path.Combine(dynamicRun, "paths.json"))))
        {
            Assert.Equal(learned, paths.RootElement.GetProperty("paths").GetProperty("shapes_depth").EnumerateArray().Select(e => e.GetInt32()));
        }

        // Retrain: that path, fine-tuned as a fixed path from the weights the dynamic run started from.
        string retrainRun = Path.Combine(fixture.Root, "retrain");
        var retrain = GppfProcess.Run(fixture.Root, Finetune(retrainRun, 2, "--from", dynamicRun, "--retrain"));
        Assert.True(retrain.ExitCode == 0, retrain.Output);
        using var job = JsonDocument.Parse(File.ReadAllText(Path.Combine(retrainRun, "job.resolved.json")));
        var init = job.RootElement.GetProperty("init");
        Assert.Equal("fixed", init.GetProperty("mode").GetString());
        Assert.Equal(Path.Combine(pretrained, CheckpointLayout.DirectoryName(6)), init.GetProperty("checkpoint").GetString());
        Assert.Equal(learned, init.GetProperty("path").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(1, job.RootElement.GetProperty("backbone").GetProperty("num_units").GetInt32());
    }

    [Fact]
    public void Should_resume_a_dynamic_fine_tuning_run_killed_mid_checkpoint_and_end_byte_identical_to_an_undisturbed_one()
    {
        string pretrained = fixture.Reference(6, 6);
        string[] Job(string run, params string[] extra) =>
            Finetune(run, 8, ["--from", pretrained, "--mode", "dynamic", "--freeze-layers", "1", "--set", "checkpoint.every_steps=4", "--set", "checkpoint.keep_last=10", .. extra]);

        // The reference holds a replica per device; the disturbed run shares one copy of the weights (the default).
        string reference = Path.Combine(fixture.Root, "dynamic-reference");
        var undisturbed = GppfProcess.Run(fixture.Root, Job(reference, "--set", "train.share_weights=false"));
        Assert.True(undisturbed.ExitCode == 0, undisturbed.Output);

        var (crashed, run) = CrashRuns.RunUntilCrashed(fixture.Root, a => Path.Combine(fixture.Root, $"dynamic-crash-{a}"), folder => Job(folder),
            new Dictionary<string, string> { ["GPPF_CRASH_AT"] = $"{CrashPoints.MidFileWrite}@8" }, output);
        Assert.True(crashed.KilledBySigkill, $"expected SIGKILL while writing step 8, exit code {crashed.ExitCode}");
        Assert.Equal([4L], RunFiles.CommittedSteps(crashed.Output));

        var resumed = GppfProcess.Run(fixture.Root, Job(run, "--resume"));
        output.WriteLine(resumed.Output);
        Assert.True(resumed.ExitCode == 0, resumed.Output);
        Assert.Contains("resuming from checkpoint of step 4 ", resumed.Output);
        RunFiles.AssertSameState(reference, run, 8);
        Assert.Equal(File.ReadAllText(Path.Combine(reference, "paths.json")).Replace(reference, "", StringComparison.Ordinal),
            File.ReadAllText(Path.Combine(run, "paths.json")).Replace(run, "", StringComparison.Ordinal));
    }

    [Fact]
    public void Should_refuse_to_start_naming_the_option_when_the_start_is_missing_or_does_not_fit()
    {
        string pretrained = fixture.Reference(6, 6);

        var noPath = GppfProcess.Run(fixture.Root, Finetune(Path.Combine(fixture.Root, "no-path"), 2, "--from", pretrained));
        Assert.Equal(2, noPath.ExitCode);
        Assert.Contains("--path-from TASK (tasks of", noPath.Output);

        var nowhere = GppfProcess.Run(fixture.Root, Finetune(Path.Combine(fixture.Root, "nowhere"), 2, "--from", Path.Combine(fixture.Root, "no-such-run"), "--path-from", "shapes_cls"));
        Assert.Equal(2, nowhere.ExitCode);
        Assert.Contains("--from", nowhere.Output);
        Assert.Contains("no-such-run", nowhere.Output);

        var unknownTask = GppfProcess.Run(fixture.Root, Finetune(Path.Combine(fixture.Root, "unknown"), 2, "--from", pretrained, "--path-from", "imagenet"));
        Assert.Equal(2, unknownTask.ExitCode);
        Assert.Contains("init.path_from", unknownTask.Output);
        Assert.Contains("shapes_det", unknownTask.Output);

        var notDynamic = GppfProcess.Run(fixture.Root, Finetune(Path.Combine(fixture.Root, "not-dynamic"), 2, "--from", pretrained, "--retrain"));
        Assert.Equal(2, notDynamic.ExitCode);
        Assert.Contains("is not a dynamic fine-tuning run", notDynamic.Output);
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "not-dynamic", CheckpointLayout.DirectoryName(2))));
    }

    // A fine-tuning job on a task the pre-training run never saw: depth, at 64x64 on the shared data.
    private string[] Finetune(string runDir, int maxSteps, params string[] options)
    {
        string job = Path.Combine(fixture.Root, "downstream.json");
        lock (fixture)
        {
            if (!File.Exists(job))
            {
                File.WriteAllText(job, $$"""
                    {
                      "name": "downstream", "seed": 3,
                      "data": { "root": {{JsonSerializer.Serialize(fixture.Data)}}, "workers": 1 },
                      "backbone": { "preset": "small", "num_units": 2 },
                      "routing": { "mode": "soft", "tau0": 5.0, "tau_min": 0.5, "tau_decay_steps": 20 },
                      "optimizer": { "kind": "sgd", "lr": 0.02, "momentum": 0.9, "weight_decay": 0.0001, "warmup_steps": 1 },
                      "train": { "max_steps": 4, "devices": "cpu:2" },
                      "eval": { "every_steps": 0, "batches": 1 },
                      "checkpoint": { "dir": "runs/downstream", "every_steps": 0 },
                      "tasks": [
                        { "name": "shapes_depth", "family": "depth", "dataset": "depth-folder:depth", "input_size": { "height": 64, "width": 64 }, "batch_size": 4,
                          "depth": { "head_channels": 32, "max_depth_metres": 10 } }
                      ]
                    }
                    """);
            }
        }
        return ["finetune", "--job", job, "--report-every", "1", "--set", $"checkpoint.dir={runDir}", "--set", $"train.max_steps={maxSteps}", .. options];
    }

    private static Dictionary<string, Tensor> Model(string run, long step) =>
        SafeTensorsFile.Load(Path.Combine(run, CheckpointLayout.DirectoryName(step), CheckpointLayout.ModelFile));

    // The unit of each layer with the largest controller logit (the first on a tie, as torch.argmax).
    private static int[] ArgMaxPath(Dictionary<string, Tensor> model, string task)
    {
        var logits = model[$"controllers.{task}.logits"];
        int units = (int)logits.shape[1];
        var values = logits.data<float>().ToArray();
        return Enumerable.Range(0, (int)logits.shape[0])
            .Select(l => Enumerable.Range(0, units).Aggregate(0, (best, k) => values[(l * units) + k] > values[(l * units) + best] ? k : best))
            .ToArray();
    }

    // Trainable tensors of a model under the prefixes (BatchNorm running statistics are buffers, not parameters).
    private static IEnumerable<string> Parameters(Dictionary<string, Tensor> model, params string[] prefixes) =>
        model.Keys.Where(k => prefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal))
            && !k.EndsWith(".running_mean", StringComparison.Ordinal) && !k.EndsWith(".running_var", StringComparison.Ordinal)
            && !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal));
}
