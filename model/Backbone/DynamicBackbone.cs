using GppfActors.Model.Norm;
using GppfActors.Model.Routing;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// The task-level dynamic ResNet backbone: a stack of lego layers (the stem, then every residual block),
/// each of N units, run along a per-task route. Returns the output of every stage. Owned by
/// <see cref="Network.GppfNetwork"/>. State keys: <c>stem.units.{k}.*</c>, <c>layer{s}.{b}.units.{k}.*</c>.
/// </summary>
public sealed class DynamicBackbone : RoutedBackbone
{
    private readonly LegoLayer stem;
    private readonly List<(int Stage, LegoLayer Layer)> order = [];

    /// <summary>Builds the backbone of <paramref name="config"/>, drawing initial weights from <paramref name="generator"/>.</summary>
    public DynamicBackbone(BackboneConfig config, NormSync sync, Generator generator) : base(nameof(DynamicBackbone), config)
    {
        Sync = sync;
        stem = new LegoLayer(0, config.NumUnits, _ => new Stem(config, sync, generator));
        var stageLists = Enumerable.Range(0, config.StageDepths.Count).Select(_ => new List<LegoLayer>()).ToArray();
        int layerIndex = 1;
        foreach (var (s, _, inC, width, stride) in BackboneFactory.Blocks(config))
        {
            var layer = new LegoLayer(layerIndex++, config.NumUnits,
                _ => BackboneFactory.Block(config, inC, width, stride, sync, generator));
            stageLists[s].Add(layer);
            order.Add((s, layer));
        }
        RegisterComponents();
        for (int s = 0; s < stageLists.Length; s++)
        {
            // torchvision's names: layer1, layer2, ...
            register_module($"layer{s + 1}", nn.ModuleList(stageLists[s].ToArray()));
        }
    }

    /// <summary>The replica-wide SyncBN switch shared by every BN of this backbone.</summary>
    public NormSync Sync { get; }

    /// <summary>Lego layers L.</summary>
    public override int NumLayers => 1 + order.Count;

    /// <summary>Lego layer <paramref name="index"/> in forward order (0 = stem).</summary>
    public override LegoLayer Layer(int index) => index == 0 ? stem : order[index - 1].Layer;

    /// <summary>Runs every layer along <paramref name="routes"/> (one per layer) and returns each stage's output.</summary>
    public override IReadOnlyList<Tensor> forward(Tensor input, IReadOnlyList<LayerRoute> routes)
    {
        if (routes.Count != NumLayers)
        {
            throw new ArgumentException($"expected {NumLayers} layer routes, got {routes.Count}", nameof(routes));
        }
        var x = stem.forward(input, routes[0]);                             // [B, C0, H/s, W/s]
        LayerOutputObserver?.Invoke(0, x);
        var features = new Tensor[Config.StageDepths.Count];
        for (int i = 0; i < order.Count; i++)
        {
            var (s, layer) = order[i];
            x = layer.forward(x, routes[i + 1]);                            // [B, Cs, Hs, Ws]
            LayerOutputObserver?.Invoke(i + 1, x);
            features[s] = x;
        }
        return features;
    }
}
