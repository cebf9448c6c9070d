using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

/// <summary>One named detached scalar statistic of a training step.</summary>
/// <param name="Name">Report key, e.g. <c>loss_cls</c>, <c>top1</c>.</param>
/// <param name="Value">A scalar tensor (any float dtype, any device).</param>
public readonly record struct NamedScalar(string Name, Tensor Value);
