using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// Every layout a task's <c>dataset</c> setting can name, <c>PREFIX:PATH</c> with PATH relative to <c>data.root</c>:
/// the project's own forms (image-folder, coco, mask-folder, depth-folder, each PATH/SPLIT/...) and the public sets
/// as they are distributed.
/// </summary>
public static class DatasetLayouts
{
    public static IReadOnlyList<DatasetLayout> All { get; } =
    [
        new("image-folder", null, "PATH/SPLIT/<class>/*.png|jpg, classes numbered in ordinal folder-name order",
            r => ImageFolderDataset.Open(r.Name, Path.Combine(r.Root, r.Split), r.Labels, r.IndexCacheDir)),
        CocoLayouts.Coco,
        new("mask-folder", null, "PATH/SPLIT/images + masks (8-bit grayscale PNG, value = class, 255 = ignore)",
            r => SegmentationFolderDataset.Open(r.Name, Path.Combine(r.Root, r.Split, "images"), Path.Combine(r.Root, r.Split, "masks"), r.Labels)),
        new("depth-folder", null, "PATH/SPLIT/images + depth (16-bit PNG, value / 256 = metres, 0 = none)",
            r => DepthFolderDataset.Open(r.Name, Path.Combine(r.Root, r.Split, "images"), Path.Combine(r.Root, r.Split, "depth"))),
        ImageNetLayout.Layout,
        CocoLayouts.Lvis,
        CocoLayouts.Objects365,
        OpenImagesLayout.Layout,
        Ade20kLayout.Layout,
        CocoStuffLayout.Layout,
        VocLayout.Layout,
        KittiDepthLayout.Layout,
    ];

    public static IReadOnlyList<string> Prefixes { get; } = [.. All.Select(l => l.Prefix)];

    /// <summary>The task's layout and its folder (relative to <c>data.root</c>, or absolute); a bad setting names the key.</summary>
    public static (DatasetLayout Layout, string Folder) Parse(TaskDefinition task)
    {
        var colon = task.Dataset.IndexOf(':', StringComparison.Ordinal);
        var prefix = colon > 0 ? task.Dataset[..colon] : "";
        var layout = All.FirstOrDefault(l => l.Prefix == prefix)
            ?? throw new ArgumentException($"{task.Key}.dataset: '{task.Dataset}' must be <layout>:<folder> with layout one of {string.Join(", ", Prefixes)}");
        if (!layout.Feeds(task.Family))
        {
            throw new ArgumentException($"{task.Key}.dataset: layout '{prefix}' holds {layout.Family} data but the task's family is {task.Family}");
        }
        return (layout, task.Dataset[(colon + 1)..]);
    }

    /// <summary>
    /// Opens split <paramref name="split"/> (train or val) of the task's data; labels outside its num_classes are refused.
    /// With <paramref name="indexCacheDir"/>, image-folder listings are cached there (see <see cref="LayoutRequest.IndexCacheDir"/>).
    /// </summary>
    public static ITaskDataset Open(TaskDefinition task, string dataRoot, string split, Action<DataFormatException>? report = null, string? indexCacheDir = null)
    {
        var (layout, folder) = Parse(task);
        var labels = task.Family == TaskFamily.Depth ? null : LabelRange.For(task);
        return layout.Open(new LayoutRequest($"{task.Name}/{split}", Path.Combine(dataRoot, folder), split, labels, report)
        {
            IndexCacheDir = indexCacheDir,
            InstanceMasks = task.Family == TaskFamily.InstanceSegmentation,
        });
    }
}
