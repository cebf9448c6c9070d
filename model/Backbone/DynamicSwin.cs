using GppfActors.Model.Routing;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// The task-level dynamic Swin Transformer (GPPF-SwinT): the patch embedding and every Swin block are
/// lego layers of N units; patch merging and the stage output norms are shared by all tasks. Returns
/// every stage's output as [B, C, H, W]. Owned by <see cref="Network.GppfNetwork"/>. State keys
/// mirror torchvision's swin_t with <c>units.{k}</c> inside each lego layer:
/// <c>features.0.units.{k}.*</c>, <c>features.{1,3,5,7}.{b}.units.{k}.*</c>,
/// <c>features.{2,4,6}.*</c>, <c>norm0..norm2</c>, <c>norm</c>.
/// </summary>
/// <remarks>
/// Letters: B batch, H x W tokens of a stage, C its channels. Stage outputs pass a LayerNorm each
/// before the heads read them, as mmdet's Swin does for dense heads; the last is torchvision's final
/// <c>norm</c>, so a classifier's pooled input is torchvision's. There is no BatchNorm, so the
/// replica's <see cref="Norm.NormSync"/> has nothing to bind and a step issues no norm collectives.
/// </remarks>
public sealed class DynamicSwin : RoutedBackbone
{
    private readonly LegoLayer embed;
    private readonly List<(int Stage, LegoLayer Layer)> order = [];
    private readonly PatchMerging[] merges;
    private readonly LayerNorm[] stageNorms;

    /// <summary>Builds the backbone of <paramref name="config"/> (family Swin), drawing initial weights from <paramref name="generator"/>.</summary>
    public DynamicSwin(BackboneConfig config, Generator generator) : base(nameof(DynamicSwin), config)
    {
        int numStages = config.StageDepths.Count;
        embed = new LegoLayer(0, config.NumUnits, _ => new SwinPatchEmbed(config, generator));
        var stageLists = Enumerable.Range(0, numStages).Select(_ => new List<LegoLayer>()).ToArray();
        int layerIndex = 1;
        foreach (var (s, _, dim, heads, shift) in BackboneFactory.SwinBlocks(config))
        {
            var layer = new LegoLayer(layerIndex++, config.NumUnits, _ => BackboneFactory.SwinBlock(config, dim, heads, shift, generator));
            stageLists[s].Add(layer);
            order.Add((s, layer));
        }
        merges = Enumerable.Range(0, numStages - 1).Select(s => new PatchMerging(config.StageChannels[s], generator)).ToArray();
        stageNorms = Enumerable.Range(0, numStages).Select(s => nn.LayerNorm(config.StageChannels[s], eps: 1e-5)).ToArray();

        // torchvision's features: 0 the embedding, then each stage followed by its patch merging.
        var features = new List<nn.Module> { embed };
        for (int s = 0; s < numStages; s++)
        {
            features.Add(nn.ModuleList(stageLists[s].ToArray()));
            if (s < numStages - 1)
            {
                features.Add(merges[s]);
            }
        }
        register_module("features", nn.ModuleList(features.ToArray()));
        for (int s = 0; s < numStages; s++)
        {
            register_module(BackboneFactory.SwinStageNormName(s, numStages), stageNorms[s]);
        }
    }

    /// <inheritdoc/>
    public override int NumLayers => 1 + order.Count;

    /// <inheritdoc/>
    public override LegoLayer Layer(int index) => index == 0 ? embed : order[index - 1].Layer;

    // Registered by hand under torchvision's names in the constructor; a parent's registration would
    // otherwise add the fields again under their own names.
    protected override void RegisterComponents()
    {
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Tensor> forward(Tensor input, IReadOnlyList<LayerRoute> routes)
    {
        if (routes.Count != NumLayers)
        {
            throw new ArgumentException($"expected {NumLayers} layer routes, got {routes.Count}", nameof(routes));
        }
        var x = embed.forward(input, routes[0]);                            // [B, H/p, W/p, C0]
        LayerOutputObserver?.Invoke(0, x);
        var features = new Tensor[Config.StageDepths.Count];
        for (int i = 0; i < order.Count; i++)
        {
            var (s, layer) = order[i];
            x = layer.forward(x, routes[i + 1]);                            // [B, Hs, Ws, Cs]
            LayerOutputObserver?.Invoke(i + 1, x);
            if (i + 1 == order.Count || order[i + 1].Stage != s)
            {
                features[s] = StageOutput(stageNorms[s], x);                // [B, Cs, Hs, Ws]
                if (s < merges.Length)
                {
                    x = merges[s].forward(x);                               // [B, Hs/2, Ws/2, 2Cs]
                }
            }
        }
        return features;
    }

    /// <summary>A stage's output for the heads: normalised, channels first.</summary>
    internal static Tensor StageOutput(LayerNorm norm, Tensor x) =>
        norm.forward(x).permute(0, 3, 1, 2).contiguous();                   // [B, H, W, C] -> [B, C, H, W]
}
