using GppfActors.Model.Norm;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// A plain ResNet with one unit per layer: what a task's path through the dynamic backbone becomes
/// after extraction, and the backbone of fixed-path fine-tuning. State keys are torchvision's
/// (<c>conv1.*</c>, <c>bn1.*</c>, <c>layer{s}.{b}.*</c>), so an extracted ResNet-50 loads into
/// <c>torchvision.models.resnet50</c> (without its fc).
/// </summary>
public sealed class StaticResNet : StaticBackbone
{
    private readonly Stem stem;
    private readonly List<(int Stage, nn.Module<Tensor, Tensor> Block)> order = [];

    /// <summary>Builds a static network of <paramref name="config"/>'s shape (its unit count is ignored).</summary>
    public StaticResNet(BackboneConfig config, NormSync sync, Generator generator) : base(nameof(StaticResNet), config)
    {
        Sync = sync;
        stem = new Stem(config, sync, generator);
        var stageLists = Enumerable.Range(0, config.StageDepths.Count).Select(_ => new List<nn.Module<Tensor, Tensor>>()).ToArray();
        foreach (var (s, _, inC, width, stride) in BackboneFactory.Blocks(config))
        {
            var block = BackboneFactory.Block(config, inC, width, stride, sync, generator);
            stageLists[s].Add(block);
            order.Add((s, block));
        }
        // The stem's parts sit at the top level, as in torchvision.
        register_module("conv1", stem.Conv1);
        register_module("bn1", stem.Bn1);
        for (int s = 0; s < stageLists.Length; s++)
        {
            register_module($"layer{s + 1}", nn.Sequential(stageLists[s].ToArray()));
        }
    }

    /// <summary>The SyncBN switch shared by every BN of this network.</summary>
    public NormSync Sync { get; }

    /// <summary>Runs the network and returns each stage's output.</summary>
    public override IReadOnlyList<Tensor> forward(Tensor input)
    {
        var x = stem.forward(input);                                        // [B, C0, H/s, W/s]
        var features = new Tensor[Config.StageDepths.Count];
        foreach (var (s, block) in order)
        {
            x = block.forward(x);                                           // [B, Cs, Hs, Ws]
            features[s] = x;
        }
        return features;
    }

    internal override string DynamicKey(string key, IReadOnlyList<int> path) => DynamicKey(key, path, Config);

    /// <summary>The state key of the dynamic backbone that feeds static key <paramref name="key"/> when layer l runs unit path[l].</summary>
    internal static string DynamicKey(string key, IReadOnlyList<int> path, BackboneConfig config)
    {
        if (key.StartsWith("conv1.", StringComparison.Ordinal) || key.StartsWith("bn1.", StringComparison.Ordinal))
        {
            return $"stem.units.{path[0]}.{key}";
        }
        // layer{s}.{b}.rest -> layer{s}.{b}.units.{k}.rest
        var parts = key.Split('.', 3);
        int stage = int.Parse(parts[0]["layer".Length..], System.Globalization.CultureInfo.InvariantCulture) - 1;
        int block = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        int layer = 1 + config.StageDepths.Take(stage).Sum() + block;
        return $"{parts[0]}.{parts[1]}.units.{path[layer]}.{parts[2]}";
    }
}
