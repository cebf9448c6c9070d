using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;

namespace GppfActors.Tasks.Layouts;

/// <summary>
/// A form data can take on disk, named by the prefix of a task's <c>dataset</c> setting (<c>voc:PATH</c>).
/// </summary>
/// <param name="Prefix">The setting's prefix, e.g. <c>ade20k</c>.</param>
/// <param name="Family">The task family the layout feeds; null for the project's own forms, which never checked it.</param>
/// <param name="Reads">What is read from where, one line for help texts and errors.</param>
/// <param name="Open">Opens one split.</param>
/// <param name="HasInstanceMasks">A detection layout whose annotations carry masks, so it feeds instance segmentation too.</param>
public sealed record DatasetLayout(string Prefix, TaskFamily? Family, string Reads, Func<LayoutRequest, ITaskDataset> Open, bool HasInstanceMasks = false)
{
    /// <summary>Whether a task of <paramref name="family"/> can read this layout.</summary>
    public bool Feeds(TaskFamily family) =>
        Family is null || Family == family || (HasInstanceMasks && Family == TaskFamily.Detection && family == TaskFamily.InstanceSegmentation);
}
