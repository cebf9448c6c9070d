using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>
/// Resolves a task's <c>dataset</c> setting, <c>&lt;format&gt;:&lt;folder&gt;</c> relative to
/// <c>data.root</c>, to the split's data set and augmentation. Formats: <c>image-folder</c>
/// (FOLDER/SPLIT/&lt;class&gt;/*), <c>coco</c> (FOLDER/SPLIT/annotations.json + images/),
/// <c>mask-folder</c> (FOLDER/SPLIT/images + masks, 8-bit PNG, 255 = ignore) and
/// <c>depth-folder</c> (FOLDER/SPLIT/images + depth, 16-bit PNG, value / 256 = metres).
/// </summary>
public static class TaskDatasets
{
    public static readonly IReadOnlyList<string> Formats = ["image-folder", "coco", "mask-folder", "depth-folder"];

    /// <summary>Opens a split; labels outside the task's <c>num_classes</c> are refused (naming the key and the file).</summary>
    public static ITaskDataset Open(TaskDefinition task, string dataRoot, string split)
    {
        var (format, folder) = Parse(task);
        string dir = Path.Combine(dataRoot, folder, split);
        string name = $"{task.Name}/{split}";
        return format switch
        {
            "image-folder" => ImageFolderDataset.Open(name, dir, LabelRange.For(task)),
            "coco" => CocoDetectionDataset.Open(name, Path.Combine(dir, "annotations.json"), Path.Combine(dir, "images"), LabelRange.For(task)),
            "mask-folder" => SegmentationFolderDataset.Open(name, Path.Combine(dir, "images"), Path.Combine(dir, "masks"), LabelRange.For(task)),
            _ => DepthFolderDataset.Open(name, Path.Combine(dir, "images"), Path.Combine(dir, "depth")),
        };
    }

    /// <summary>Training augmentation at the task's input size: random-resized-crop for classification, scale jitter for dense tasks.</summary>
    public static AugmentationOptions Training(TaskDefinition task) => task.Family == TaskFamily.Classification
        ? AugmentationOptions.Classification(task.InputSize.Width) with { OutputHeight = task.InputSize.Height, MinScale = task.Classification.MinCropScale }
        : AugmentationOptions.Dense(task.InputSize.Width, task.InputSize.Height);

    /// <summary>Deterministic resize to the task's input size.</summary>
    public static AugmentationOptions Evaluation(TaskDefinition task) => AugmentationOptions.Evaluation(task.InputSize.Width, task.InputSize.Height);

    private static (string Format, string Folder) Parse(TaskDefinition task)
    {
        int colon = task.Dataset.IndexOf(':', StringComparison.Ordinal);
        string format = colon > 0 ? task.Dataset[..colon] : "";
        if (!Formats.Contains(format))
        {
            throw new ArgumentException($"{task.Key}.dataset: '{task.Dataset}' must be <format>:<folder> with format one of {string.Join(", ", Formats)}");
        }
        return (format, task.Dataset[(colon + 1)..]);
    }
}
