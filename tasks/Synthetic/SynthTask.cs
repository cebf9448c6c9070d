namespace GppfActors.Tasks.Synthetic;

/// <summary>The task families the synthetic data set is written for, one folder each.</summary>
public enum SynthTask
{
    Classification,
    Detection,
    Segmentation,
    Depth,
}
