using System.Globalization;
using System.Text.Json;

namespace GppfActors.Bench.Experiments;

/// <summary>
/// The jobs of the experiments: one recipe (cpu-small's optimizer, backbone and input sizes, plus a
/// depth task) on the synthetic set, written as job files so every run is a plain
/// <c>gppf train</c>/<c>gppf finetune</c> a user could repeat; variants differ only by the
/// <c>--set</c> lines of their configuration.
/// </summary>
internal static class ExperimentJobs
{
    public const string Classification = "shapes_cls";
    public const string Detection = "shapes_det";
    public const string Segmentation = "shapes_seg";
    public const string Depth = "shapes_depth";

    /// <summary>The task held out of pre-training and fine-tuned.</summary>
    public const string HeldOut = Classification;

    /// <summary>The pre-training task whose path the held-out task is fine-tuned along: detection of the same shape classes.</summary>
    public const string Related = Detection;

    /// <summary>The four families of the synthetic set, in table order.</summary>
    public static IReadOnlyList<string> AllTasks { get; } = [Classification, Detection, Segmentation, Depth];

    /// <summary>A job file of <paramref name="tasks"/> (one seed's), written under <paramref name="folder"/>.</summary>
    public static string Write(string folder, string name, ulong seed, string dataRoot, long steps, IReadOnlyList<string> tasks)
    {
        Directory.CreateDirectory(folder);
        string file = Path.Combine(folder, $"{name}.json");
        string inv(double v) => v.ToString(CultureInfo.InvariantCulture);
        long tauDecay = Math.Max(1, steps * 9 / 10);
        long warmup = Math.Min(20, Math.Max(1, steps / 10));
        File.WriteAllText(file, $$"""
            {
              "name": "{{name}}", "seed": {{seed}},
              "data": { "root": {{JsonSerializer.Serialize(dataRoot)}}, "generate_if_missing": false, "workers": 1 },
              "backbone": { "preset": "small", "num_units": 2 },
              "routing": { "mode": "soft", "tau0": 5.0, "tau_min": 0.5, "tau_decay_steps": {{tauDecay}} },
              "sampling": { "mode": "simt" },
              "sync_batch_norm": true,
              "optimizer": { "kind": "sgd", "lr": {{inv(0.05)}}, "momentum": 0.9, "weight_decay": 0.0001, "warmup_steps": {{warmup}}, "min_lr": 0.0005 },
              "train": { "max_steps": {{steps}}, "devices": "cpu:2" },
              "eval": { "every_steps": 0, "batches": 1 },
              "checkpoint": { "dir": "runs/{{name}}", "every_steps": 0, "keep_last": 1 },
              "tasks": [
                {{string.Join(",\n    ", tasks.Select(Task))}}
              ]
            }
            """);
        return file;
    }

    private static string Task(string name) => name switch
    {
        Classification => """{ "name": "shapes_cls", "family": "classification", "dataset": "image-folder:classification", "num_classes": 5, "input_size": { "height": 32, "width": 32 }, "batch_size": 16, "sampling_weight": 2.0, "classification": { "label_smoothing": 0.1, "min_crop_scale": 0.5 } }""",
        Detection => """{ "name": "shapes_det", "family": "detection", "dataset": "coco:detection", "num_classes": 5, "input_size": { "height": 64, "width": 64 }, "batch_size": 4, "sampling_weight": 1.0, "detection": { "fpn_channels": 48, "num_tower_convs": 2 } }""",
        Segmentation => """{ "name": "shapes_seg", "family": "semantic_segmentation", "dataset": "mask-folder:segmentation", "num_classes": 6, "input_size": { "height": 64, "width": 64 }, "batch_size": 4, "sampling_weight": 1.0, "segmentation": { "head_channels": 48, "pool_scales": [1, 2, 4] } }""",
        Depth => """{ "name": "shapes_depth", "family": "depth", "dataset": "depth-folder:depth", "input_size": { "height": 64, "width": 64 }, "batch_size": 4, "sampling_weight": 1.0, "depth": { "head_channels": 48, "max_depth_metres": 24 } }""",
        _ => throw new ArgumentException($"no task {name}"),
    };
}
