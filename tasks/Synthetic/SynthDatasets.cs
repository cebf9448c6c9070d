using GppfActors.Tasks.Data;

namespace GppfActors.Tasks.Synthetic;

/// <summary>Opens a task and split of a generated synthetic data set as a loader data set, with that task's standard augmentation.</summary>
public static class SynthDatasets
{
    /// <summary>
    /// Opens one split; with <paramref name="labels"/> (the num_classes of the task that trains on it) class labels
    /// outside it are refused, as for any other data set. Depth has no labels and ignores it. With
    /// <paramref name="instanceMasks"/>, detection samples carry each box's mask (from the written polygons).
    /// </summary>
    public static ITaskDataset Open(string root, SynthTask task, string split, LabelRange? labels = null, bool instanceMasks = false)
    {
        var name = $"{SynthLayout.TaskName(task)}/{split}";
        return task switch
        {
            SynthTask.Classification => ImageFolderDataset.Open(name, SynthLayout.SplitDir(root, task, split), labels),
            SynthTask.Detection => CocoDetectionDataset.Open(name, SynthLayout.CocoFile(root, split), SynthLayout.ImageDir(root, task, split), labels, instanceMasks),
            SynthTask.Segmentation => SegmentationFolderDataset.Open(name, SynthLayout.ImageDir(root, task, split), SynthLayout.MaskDir(root, split), labels),
            _ => DepthFolderDataset.Open(name, SynthLayout.ImageDir(root, task, split), SynthLayout.DepthDir(root, split)),
        };
    }

    /// <summary>Training augmentation at the task's native size: random-resized-crop for classification, scale jitter for the rest.</summary>
    public static AugmentationOptions TrainAugmentation(SynthTask task, SynthManifest manifest)
    {
        var entry = manifest.Tasks.FirstOrDefault(t => t.Name == SynthLayout.TaskName(task))
            ?? throw new ArgumentException($"the data set has no {SynthLayout.TaskName(task)} task");
        return task == SynthTask.Classification
            ? AugmentationOptions.Classification(entry.ImageWidth)
            : AugmentationOptions.Dense(entry.ImageWidth, entry.ImageHeight);
    }
}
