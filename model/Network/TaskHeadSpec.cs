using static TorchSharp.torch;

namespace GppfActors.Model.Network;

/// <summary>
/// A task as the network sees it: a name (a state-key segment: letters, digits, '_' and '-') and a
/// factory for its head given the backbone's stage channels. Heads must read the last stage, so that
/// every device's backward reaches every backbone layer and issues the same SyncBN collectives.
/// </summary>
public sealed record TaskHeadSpec(string Name, Func<IReadOnlyList<long>, Generator, nn.Module<IReadOnlyList<Tensor>, Tensor>> CreateHead);
