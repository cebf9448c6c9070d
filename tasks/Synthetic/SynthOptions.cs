namespace GppfActors.Tasks.Synthetic;

/// <summary>What <see cref="SyntheticDatasetWriter"/> generates: seed, which tasks, how many images per split.</summary>
public sealed record SynthOptions
{
    public required long Seed { get; init; }

    public SynthSize Size { get; init; } = SynthSize.Small;

    /// <summary>Training images per task; null takes the preset's.</summary>
    public int? NumTrain { get; init; }

    /// <summary>Validation images per task; null takes the preset's.</summary>
    public int? NumVal { get; init; }

    /// <summary>Tasks to write; all by default (tests write only what they check).</summary>
    public IReadOnlyList<SynthTask> Tasks { get; init; } = Enum.GetValues<SynthTask>();

    /// <summary>Side of classification images; smaller than the dense tasks' so SIMT sees mixed input shapes.</summary>
    public int ClassificationSize { get; init; } = 32;

    /// <summary>Width and height of detection, segmentation and depth images.</summary>
    public int DenseSize { get; init; } = 64;

    public int ResolvedNumTrain => NumTrain ?? (Size == SynthSize.Small ? 400 : 4000);

    public int ResolvedNumVal => NumVal ?? (Size == SynthSize.Small ? 200 : 1000);

    public SynthOptions Validate()
    {
        if (ResolvedNumTrain < 1 || ResolvedNumVal < 1)
        {
            throw new ArgumentException($"need at least one image per split, got train {ResolvedNumTrain}, val {ResolvedNumVal}");
        }
        if (Tasks.Contains(SynthTask.Classification) && Math.Min(ResolvedNumTrain, ResolvedNumVal) < ShapeClasses.All.Count)
        {
            // A class folder missing from one split would renumber every later class in that split.
            throw new ArgumentException($"classification needs at least {ShapeClasses.All.Count} images per split (one per class), got train {ResolvedNumTrain}, val {ResolvedNumVal}");
        }
        if (ClassificationSize < 16 || DenseSize < 32)
        {
            throw new ArgumentException($"images too small to hold a shape: classification {ClassificationSize} (min 16), dense {DenseSize} (min 32)");
        }
        if (Tasks.Count == 0)
        {
            throw new ArgumentException("no tasks selected");
        }
        return this;
    }
}
