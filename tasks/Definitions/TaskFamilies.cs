using GppfActors.Model.Backbone;
using GppfActors.Model.Network;

namespace GppfActors.Tasks.Definitions;

/// <summary>
/// The registry of task families: the config name of each family and the implementation that
/// serves a task of it, so presets name families by string and tests iterate over every family.
/// </summary>
public static class TaskFamilies
{
    private static readonly IReadOnlyDictionary<TaskFamily, (string Key, Func<TaskDefinition, BackboneConfig, ITaskFamily> Create)> Registry =
        new Dictionary<TaskFamily, (string, Func<TaskDefinition, BackboneConfig, ITaskFamily>)>
        {
            [TaskFamily.Classification] = ("classification", (t, _) => new ClassificationFamily(t)),
            [TaskFamily.Detection] = ("detection", (t, b) => new DetectionFamily(t, b)),
            [TaskFamily.SemanticSegmentation] = ("semantic_segmentation", (t, b) => new SegmentationFamily(t, b)),
            [TaskFamily.Depth] = ("depth", (t, b) => new DepthFamily(t, b)),
            [TaskFamily.InstanceSegmentation] = ("instance_segmentation", (t, b) => new InstanceSegmentationFamily(t, b)),
        };

    /// <summary>Every family with an implementation.</summary>
    public static IReadOnlyList<TaskFamily> All { get; } = Registry.Keys.Order().ToArray();

    /// <summary>The config name of <paramref name="family"/> (e.g. <c>semantic_segmentation</c>).</summary>
    public static string KeyOf(TaskFamily family) => Lookup(family).Key;

    /// <summary>The family a preset names, by config name; the error lists the names allowed.</summary>
    public static TaskFamily Parse(string name)
    {
        foreach (var (family, entry) in Registry)
        {
            if (entry.Key == name)
            {
                return family;
            }
        }
        throw new ArgumentException($"task family '{name}' is unknown (allowed: {string.Join(", ", All.Select(KeyOf))})");
    }

    /// <summary>The implementation serving <paramref name="task"/> (validated here) on a backbone of <paramref name="backbone"/>.</summary>
    public static ITaskFamily For(TaskDefinition task, BackboneConfig backbone)
    {
        task.Validate();
        return Lookup(task.Family).Create(task, backbone);
    }

    /// <summary>The head specs of <paramref name="tasks"/>, in order, for building a <see cref="GppfNetwork"/>.</summary>
    public static IReadOnlyList<TaskHeadSpec> HeadSpecs(IEnumerable<TaskDefinition> tasks, BackboneConfig backbone) =>
        tasks.Select(t => For(t, backbone).CreateHeadSpec()).ToArray();

    private static (string Key, Func<TaskDefinition, BackboneConfig, ITaskFamily> Create) Lookup(TaskFamily family) =>
        Registry.TryGetValue(family, out var entry)
            ? entry
            : throw new ArgumentException($"task family {family} has no implementation (implemented: {string.Join(", ", Registry.Keys)})");
}
