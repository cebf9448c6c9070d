namespace GppfActors.Actors.Sampling;

/// <summary>A task the sampler can hand out: its name, sampling weight, data set size and per-device batch size.</summary>
public sealed record SampledTask(string Name, double Weight, long DatasetSize, int BatchSize);
