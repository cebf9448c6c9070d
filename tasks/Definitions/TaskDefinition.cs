using System.Text.RegularExpressions;

namespace GppfActors.Tasks.Definitions;

/// <summary>
/// One pre-training or downstream task as the run config names it (paper section 3.2: a dataset
/// plus an algorithm of pre-process, network and loss): its family, data, class count, input size,
/// per-device batch size, sampling weight and loss weight, and the family's options. Immutable;
/// <see cref="Validate"/> reports user errors by config key (<c>tasks.{name}.{key}</c>).
/// </summary>
/// <param name="Name">State-key segment and config key: letters, digits, '_' and '-'.</param>
/// <param name="Family">Decides head, loss, decoder and metrics.</param>
/// <param name="Dataset">Where the data lives (a path or a description the loader understands).</param>
/// <param name="NumClasses">Classes of a classification, detection or segmentation task; 0 for depth.</param>
/// <param name="InputSize">Network input size of this task's batches.</param>
/// <param name="BatchSize">Samples per device per step (task-specific, paper appendix D).</param>
/// <param name="SamplingWeight">Relative weight with which a device draws this task each step; finite and &gt; 0.</param>
/// <param name="LossWeight">Factor on the task loss (paper: 1.0 for pre-training tasks, 0.1 for KITTI depth).</param>
public sealed partial record TaskDefinition(
    string Name,
    TaskFamily Family,
    string Dataset,
    int NumClasses,
    InputSize InputSize,
    int BatchSize,
    double SamplingWeight = 1.0,
    double LossWeight = 1.0)
{
    /// <summary>Options read when <see cref="Family"/> is classification.</summary>
    public ClassificationOptions Classification { get; init; } = new();

    /// <summary>Options read when <see cref="Family"/> is detection or instance segmentation (its detection part).</summary>
    public DetectionOptions Detection { get; init; } = new();

    /// <summary>Options read when <see cref="Family"/> is semantic segmentation.</summary>
    public SegmentationOptions Segmentation { get; init; } = new();

    /// <summary>Options read when <see cref="Family"/> is depth.</summary>
    public DepthOptions Depth { get; init; } = new();

    /// <summary>Options of the mask part read when <see cref="Family"/> is instance segmentation.</summary>
    public InstanceSegmentationOptions InstanceSegmentation { get; init; } = new();

    /// <summary>The config key prefix of this task.</summary>
    public string Key => $"tasks.{Name}";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid key; returns this for chaining.</summary>
    /// <remarks>
    /// Every family's options are checked whatever the family, so a bad value in a preset is caught
    /// by the run that reads it, not by a later run that switches the task's family.
    /// </remarks>
    public TaskDefinition Validate()
    {
        ConfigCheck.Require(Name is not null && NamePattern().IsMatch(Name), "tasks.name",
            "must be letters, digits, '_' or '-' (it becomes part of state keys)", $"'{Name}'");
        ConfigCheck.Require(Enum.IsDefined(Family), $"{Key}.family",
            $"must be one of {string.Join(", ", Enum.GetNames<TaskFamily>())}", Family);
        ConfigCheck.Require(!string.IsNullOrWhiteSpace(Dataset), $"{Key}.dataset", "must name the data", $"'{Dataset}'");
        if (Family == TaskFamily.Depth)
        {
            ConfigCheck.Require(NumClasses == 0, $"{Key}.num_classes", "must be 0 for a depth task (it regresses one value per pixel)", NumClasses);
        }
        else
        {
            ConfigCheck.AtLeast(NumClasses, 1, $"{Key}.num_classes");
        }
        if (Family == TaskFamily.SemanticSegmentation)
        {
            // Class 255 would be indistinguishable from the ignore label.
            ConfigCheck.Require(NumClasses <= SegmentationOptions.IgnoreIndex, $"{Key}.num_classes",
                $"must be <= {SegmentationOptions.IgnoreIndex} (label {SegmentationOptions.IgnoreIndex} means ignore)", NumClasses);
        }
        ConfigCheck.AtLeast(InputSize.Height, 1, $"{Key}.input_size.height");
        ConfigCheck.AtLeast(InputSize.Width, 1, $"{Key}.input_size.width");
        ConfigCheck.AtLeast(BatchSize, 1, $"{Key}.batch_size");
        // > 0, not >= 0: the task sampler draws every listed task and refuses a zero weight, so a zero
        // that passed here would only fail later, after the data sets were opened. Drop a task instead.
        ConfigCheck.Require(SamplingWeight > 0 && double.IsFinite(SamplingWeight), $"{Key}.sampling_weight",
            double.IsPositiveInfinity(SamplingWeight) ? "must be finite" : "must be > 0", SamplingWeight);
        ConfigCheck.Require(LossWeight >= 0 && double.IsFinite(LossWeight), $"{Key}.loss_weight", "must be finite and >= 0", LossWeight);
        Classification.Validate($"{Key}.classification");
        Detection.Validate($"{Key}.detection");
        Segmentation.Validate($"{Key}.segmentation");
        Depth.Validate($"{Key}.depth");
        InstanceSegmentation.Validate($"{Key}.instance_segmentation");
        return this;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex NamePattern();
}
