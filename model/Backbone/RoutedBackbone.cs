using GppfActors.Model.Routing;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// What every dynamic backbone family offers <see cref="Network.GppfNetwork"/>: L lego layers in
/// forward order, run along one route per layer, returning every stage's output as [B, C, H, W] with
/// <see cref="BackboneConfig.StageChannels"/> channels. Families: <see cref="DynamicBackbone"/>
/// (ResNet) and <see cref="DynamicSwin"/>; <see cref="BackboneFactory.Dynamic"/> picks one.
/// </summary>
public abstract class RoutedBackbone : nn.Module
{
    /// <summary>Validates <paramref name="config"/> and names the module.</summary>
    protected RoutedBackbone(string name, BackboneConfig config) : base(name)
    {
        Config = config.Validate();
    }

    /// <summary>The validated configuration.</summary>
    public BackboneConfig Config { get; }

    /// <summary>Lego layers L.</summary>
    public abstract int NumLayers { get; }

    /// <summary>Lego layer <paramref name="index"/> in forward order (0 = stem or patch embedding).</summary>
    public abstract LegoLayer Layer(int index);

    /// <summary>
    /// Called during forward with each lego layer's output (layer index, output in the family's own
    /// layout), so an analysis such as CKA can read every layer's features through the ordinary
    /// forward. Null (the default) costs nothing; the output belongs to the forward's dispose scope.
    /// </summary>
    public Action<int, Tensor>? LayerOutputObserver { get; set; }

    /// <summary>Runs every layer along <paramref name="routes"/> (one per layer) and returns each stage's output, [B, C, H, W].</summary>
    public abstract IReadOnlyList<Tensor> forward(Tensor input, IReadOnlyList<LayerRoute> routes);
}
