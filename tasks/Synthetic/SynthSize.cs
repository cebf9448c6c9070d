namespace GppfActors.Tasks.Synthetic;

/// <summary>Preset sizes of the synthetic data set.</summary>
public enum SynthSize
{
    /// <summary>400 train / 200 val images per task: tests and demos, generated in seconds.</summary>
    Small,

    /// <summary>4,000 train / 1,000 val images per task: short training runs and loader benchmarks.</summary>
    Medium,
}
