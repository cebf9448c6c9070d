namespace GppfActors.Tasks.Metrics;

/// <summary>One predicted object: a box, its class and its confidence score.</summary>
public readonly record struct Detection(Box Box, int Label, double Score);
