using TorchSharp.Modules;

namespace GppfActors.Model.Optim;

/// <summary>A trainable parameter paired with its dotted module path, which keys weight-decay grouping and optimizer state.</summary>
/// <param name="Name">The PyTorch-style path, e.g. <c>backbone.layer1.0.conv1.weight</c>.</param>
/// <param name="Parameter">The parameter tensor; the module that registered it owns it, not the optimizer.</param>
public sealed record NamedParameter(string Name, Parameter Parameter);
