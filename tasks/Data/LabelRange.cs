using GppfActors.Tasks.Definitions;

namespace GppfActors.Tasks.Data;

/// <summary>
/// The class labels a task's head has, 0 .. <see cref="NumClasses"/> - 1, and the config key that set the count. A data
/// set opened with one refuses labels outside it, naming the key, the file and the value: a label &gt;= num_classes would
/// otherwise pass the loader and fail inside the loss at every step that draws it, naming nothing.
/// </summary>
/// <param name="NumClasses">Classes of the task's head, at least 1.</param>
/// <param name="ConfigKey">The key that set <paramref name="NumClasses"/>, e.g. <c>tasks.coco.num_classes</c>.</param>
public sealed record LabelRange(int NumClasses, string ConfigKey)
{
    public int NumClasses { get; } = NumClasses >= 1
        ? NumClasses
        : throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, $"{ConfigKey}: a label range needs at least one class");

    /// <summary>The range of a classification, detection or segmentation task (depth tasks have no labels).</summary>
    public static LabelRange For(TaskDefinition task) => new(task.NumClasses, $"{task.Key}.num_classes");

    public bool Contains(long label) => label >= 0 && label < NumClasses;

    /// <summary>The rule a bad label broke, for the end of an error message.</summary>
    public string Rule => $"outside {ConfigKey} = {NumClasses} (labels 0..{NumClasses - 1})";
}
