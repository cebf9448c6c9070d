using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

/// <summary>
/// A family's loss for one batch: the scalar to back-propagate (before the task's loss weight) and
/// named detached scalar statistics (loss terms, training accuracy, positives) that the train step
/// turns into .NET values after backward.
/// </summary>
/// <param name="Value">The differentiable task loss, a scalar.</param>
/// <param name="Metrics">Detached scalars, reported under their names.</param>
public sealed record TaskLoss(Tensor Value, IReadOnlyList<NamedScalar> Metrics);
