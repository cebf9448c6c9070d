namespace GppfActors.Tasks.Metrics;

/// <summary>One annotated object: a box and its class.</summary>
public readonly record struct GroundTruthBox(Box Box, int Label);
