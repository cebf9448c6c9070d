using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// A plain Swin Transformer with one unit per layer: what a task's path through <see cref="DynamicSwin"/>
/// becomes after extraction. State keys are torchvision's swin_t (<c>features.0.0/2</c> embedding,
/// <c>features.{1,3,5,7}.{b}.*</c> blocks, <c>features.{2,4,6}.*</c> patch merging, <c>norm.*</c>)
/// plus <c>norm0..norm2</c>, the stage output norms of the first three stages (mmdet's names), which a
/// torchvision swin_t does not have: drop them to load the rest into it without its head.
/// </summary>
public sealed class StaticSwin : StaticBackbone
{
    private readonly SwinPatchEmbed embed;
    private readonly List<(int Stage, SwinBlock Block)> order = [];
    private readonly PatchMerging[] merges;
    private readonly LayerNorm[] stageNorms;

    /// <summary>Builds a static Swin of <paramref name="config"/>'s shape (its unit count is ignored).</summary>
    public StaticSwin(BackboneConfig config, Generator generator) : base(nameof(StaticSwin), config)
    {
        int numStages = config.StageDepths.Count;
        embed = new SwinPatchEmbed(config, generator);
        var stageLists = Enumerable.Range(0, numStages).Select(_ => new List<nn.Module<Tensor, Tensor>>()).ToArray();
        foreach (var (s, _, dim, heads, shift) in BackboneFactory.SwinBlocks(config))
        {
            var block = BackboneFactory.SwinBlock(config, dim, heads, shift, generator);
            stageLists[s].Add(block);
            order.Add((s, block));
        }
        merges = Enumerable.Range(0, numStages - 1).Select(s => new PatchMerging(config.StageChannels[s], generator)).ToArray();
        stageNorms = Enumerable.Range(0, numStages).Select(s => nn.LayerNorm(config.StageChannels[s], eps: 1e-5)).ToArray();

        var features = new List<nn.Module> { embed };
        for (int s = 0; s < numStages; s++)
        {
            features.Add(nn.Sequential(stageLists[s].ToArray()));
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

    // Registered by hand under torchvision's names in the constructor; a parent's registration would
    // otherwise add the fields again under their own names.
    protected override void RegisterComponents()
    {
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Tensor> forward(Tensor input)
    {
        var x = embed.forward(input);                                       // [B, H/p, W/p, C0]
        var features = new Tensor[Config.StageDepths.Count];
        for (int i = 0; i < order.Count; i++)
        {
            var (s, block) = order[i];
            x = block.forward(x);                                           // [B, Hs, Ws, Cs]
            if (i + 1 == order.Count || order[i + 1].Stage != s)
            {
                features[s] = DynamicSwin.StageOutput(stageNorms[s], x);    // [B, Cs, Hs, Ws]
                if (s < merges.Length)
                {
                    x = merges[s].forward(x);                               // [B, Hs/2, Ws/2, 2Cs]
                }
            }
        }
        return features;
    }

    /// <inheritdoc/>
    internal override string DynamicKey(string key, IReadOnlyList<int> path)
    {
        // features.0.rest -> features.0.units.{k}.rest; features.{2s+1}.{b}.rest -> features.{2s+1}.{b}.units.{k}.rest;
        // patch merging and the stage norms are shared and keep their keys.
        var parts = key.Split('.', 4);
        if (parts[0] != "features")
        {
            return key;
        }
        int index = int.Parse(parts[1], CultureInfo.InvariantCulture);
        if (index == 0)
        {
            return $"features.0.units.{path[0]}.{string.Join('.', parts[2..])}";
        }
        if (index % 2 == 0)
        {
            return key;
        }
        int stage = (index - 1) / 2;
        int block = int.Parse(parts[2], CultureInfo.InvariantCulture);
        int layer = 1 + Config.StageDepths.Take(stage).Sum() + block;
        return $"features.{index}.{block}.units.{path[layer]}.{parts[3]}";
    }
}
