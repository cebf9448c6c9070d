using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Layouts;

namespace GppfActors.ClusterConfig.Workloads;

/// <summary>
/// Resolves a task's <c>dataset</c> setting, <c>&lt;layout&gt;:&lt;folder&gt;</c> relative to <c>data.root</c>, to the
/// split's data set (through <see cref="DatasetLayouts"/>: the project's own image-folder, coco, mask-folder and
/// depth-folder forms, and the public sets as distributed: imagenet, lvis, objects365, openimages, ade20k,
/// coco-stuff, voc, kitti-depth) and to its augmentation.
/// </summary>
public static class TaskDatasets
{
    public static IReadOnlyList<string> Formats => DatasetLayouts.Prefixes;

    /// <summary>
    /// Opens a split; labels outside the task's <c>num_classes</c> are refused (naming the key and the file). With
    /// <paramref name="indexCacheDir"/>, folder listings are cached there and read back while the folder is unchanged.
    /// </summary>
    public static ITaskDataset Open(TaskDefinition task, string dataRoot, string split, string? indexCacheDir = null) =>
        DatasetLayouts.Open(task, dataRoot, split, indexCacheDir: indexCacheDir);

    /// <summary>Training augmentation at the task's input size: random-resized-crop for classification, scale jitter for dense tasks.</summary>
    public static AugmentationOptions Training(TaskDefinition task) => task.Family == TaskFamily.Classification
        ? AugmentationOptions.Classification(task.InputSize.Width) with { OutputHeight = task.InputSize.Height, MinScale = task.Classification.MinCropScale }
        : AugmentationOptions.Dense(task.InputSize.Width, task.InputSize.Height);

    /// <summary>Deterministic resize to the task's input size.</summary>
    public static AugmentationOptions Evaluation(TaskDefinition task) => AugmentationOptions.Evaluation(task.InputSize.Width, task.InputSize.Height);
}
