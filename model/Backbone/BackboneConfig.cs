namespace GppfActors.Model.Backbone;

/// <summary>Residual block family of a backbone.</summary>
public enum BlockKind
{
    /// <summary>Two 3x3 convolutions (ResNet-18/34).</summary>
    Basic,

    /// <summary>1x1 - 3x3 - 1x1 with expansion 4 (ResNet-50 and up).</summary>
    Bottleneck,
}

/// <summary>
/// Shape of a dynamic backbone. ResNet: the stem plus every residual block is one lego layer of
/// <see cref="NumUnits"/> units (ResNet-50: 1 + 16 = 17 layers); Swin (<see cref="Family"/>): the
/// patch embedding plus every Swin block (Swin-T: 1 + 12 = 13 layers). Immutable;
/// <see cref="Validate"/> reports user errors by config key.
/// </summary>
public sealed record BackboneConfig
{
    /// <summary>Preset or user name, for logs.</summary>
    public string Name { get; init; } = "custom";

    /// <summary>Output channels of the stem convolution.</summary>
    public int StemChannels { get; init; } = 64;

    /// <summary>Stem convolution kernel (7 in the paper's ResNet-50, 3 for small inputs).</summary>
    public int StemKernelSize { get; init; } = 7;

    /// <summary>Stem convolution stride.</summary>
    public int StemStride { get; init; } = 2;

    /// <summary>Whether a 3x3 stride-2 max pool follows the stem.</summary>
    public bool StemMaxPool { get; init; } = true;

    /// <summary>Residual block family.</summary>
    public BlockKind Block { get; init; } = BlockKind.Bottleneck;

    /// <summary>Blocks per stage.</summary>
    public IReadOnlyList<int> StageDepths { get; init; } = [3, 4, 6, 3];

    /// <summary>Inner width per stage (output channels are width x expansion).</summary>
    public IReadOnlyList<int> StageWidths { get; init; } = [64, 128, 256, 512];

    /// <summary>Units per lego layer N; 1 is the static network.</summary>
    public int NumUnits { get; init; } = 2;

    /// <summary>Input image channels.</summary>
    public int InputChannels { get; init; } = 3;

    // Activation checkpointing: its own block, independent of the backbone's family.

    /// <summary>Which lego layers drop their activations after forward and recompute them in backward.</summary>
    public ActivationCheckpointing ActivationCheckpointing { get; init; } = ActivationCheckpointing.Off;

    /// <summary>Channel expansion of the block family.</summary>
    public int Expansion => Block == BlockKind.Bottleneck ? 4 : 1;

    /// <summary>Lego layers L: the stem (or patch embedding) plus every block.</summary>
    public int NumLayers => 1 + StageDepths.Sum();

    /// <summary>Output channels of each stage (C2..C5 for four stages).</summary>
    public IReadOnlyList<long> StageChannels => Family == BackboneFamily.Swin
        ? Enumerable.Range(0, StageDepths.Count).Select(s => (long)EmbedDim << s).ToArray()
        : StageWidths.Select(w => (long)w * Expansion).ToArray();

    /// <summary>The paper's GPPF-R50: ResNet-50 with every block and the stem as a lego layer.</summary>
    public static BackboneConfig ResNet50(int numUnits = 2) => new() { Name = "resnet50", NumUnits = numUnits };

    /// <summary>ResNet-18 layout with basic blocks.</summary>
    public static BackboneConfig ResNet18(int numUnits = 2) => new()
    {
        Name = "resnet18",
        Block = BlockKind.Basic,
        StageDepths = [2, 2, 2, 2],
        NumUnits = numUnits,
    };

    /// <summary>A four-stage basic-block network for 32-96 px inputs on a few CPU cores (5 lego layers).</summary>
    public static BackboneConfig Small(int numUnits = 2) => new()
    {
        Name = "small",
        StemChannels = 16,
        StemKernelSize = 3,
        StemStride = 2,
        StemMaxPool = false,
        Block = BlockKind.Basic,
        StageDepths = [1, 1, 1, 1],
        StageWidths = [16, 32, 64, 128],
        NumUnits = numUnits,
    };

    /// <summary>Two small stages; for unit tests (3 lego layers).</summary>
    public static BackboneConfig Tiny(int numUnits = 2) => new()
    {
        Name = "tiny",
        StemChannels = 8,
        StemKernelSize = 3,
        StemStride = 1,
        StemMaxPool = false,
        Block = BlockKind.Basic,
        StageDepths = [1, 1],
        StageWidths = [8, 16],
        NumUnits = numUnits,
    };

    /// <summary>A preset by name: resnet50, resnet18, small, tiny, swin_t, swin_small.</summary>
    public static BackboneConfig FromPreset(string name, int numUnits) => name switch
    {
        "resnet50" => ResNet50(numUnits),
        "resnet18" => ResNet18(numUnits),
        "small" => Small(numUnits),
        "tiny" => Tiny(numUnits),
        "swin_t" => SwinT(numUnits),
        "swin_small" => SwinSmall(numUnits),
        _ => throw new ArgumentException($"backbone.preset: unknown preset '{name}' (allowed: resnet50, resnet18, small, tiny, swin_t, swin_small)"),
    };

    // ---- Swin family (GPPF-SwinT). With Family = Swin the lego layers are the patch embedding and
    // every Swin block; StageDepths gives the blocks per stage, and the ResNet keys above (stem,
    // block kind, stage widths) are not used.

    /// <summary>Architecture family: ResNet (default) or Swin.</summary>
    public BackboneFamily Family { get; init; } = BackboneFamily.ResNet;

    /// <summary>Swin: side of the square patch the embedding convolution turns into one token (its kernel and stride).</summary>
    public int PatchSize { get; init; } = 4;

    /// <summary>Swin: channels of stage 1; stage s has EmbedDim * 2^s.</summary>
    public int EmbedDim { get; init; } = 96;

    /// <summary>Swin: attention heads per stage.</summary>
    public IReadOnlyList<int> NumHeads { get; init; } = [3, 6, 12, 24];

    /// <summary>Swin: side of the square attention window, in tokens; odd blocks of a stage shift it by half.</summary>
    public int WindowSize { get; init; } = 7;

    /// <summary>Swin: hidden width of a block's MLP over its input width.</summary>
    public double MlpRatio { get; init; } = 4.0;

    /// <summary>The paper's GPPF-SwinT: Swin-T (embed 96, depths 2/2/6/2, heads 3/6/12/24, window 7), 13 lego layers.</summary>
    public static BackboneConfig SwinT(int numUnits = 2) => new()
    {
        Name = "swin_t",
        Family = BackboneFamily.Swin,
        StageDepths = [2, 2, 6, 2],
        NumUnits = numUnits,
    };

    /// <summary>A four-stage Swin for 32-96 px inputs on a few CPU cores: patch 2, embed 24, depths 2/2/2/2, window 4 (9 lego layers).</summary>
    public static BackboneConfig SwinSmall(int numUnits = 2) => new()
    {
        Name = "swin_small",
        Family = BackboneFamily.Swin,
        PatchSize = 2,
        EmbedDim = 24,
        StageDepths = [2, 2, 2, 2],
        NumHeads = [1, 2, 4, 8],
        WindowSize = 4,
        NumUnits = numUnits,
    };

    private void ValidateSwin()
    {
        Require(PatchSize is >= 1 and <= 16, $"backbone.patch_size must be in [1, 16], got {PatchSize}");
        Require(EmbedDim >= 1, $"backbone.embed_dim must be >= 1, got {EmbedDim}");
        Require(NumHeads.Count == StageDepths.Count,
            $"backbone.num_heads ({NumHeads.Count} stages) and backbone.stage_depths ({StageDepths.Count} stages) must have the same length");
        Require(Enumerable.Range(0, NumHeads.Count).All(s => NumHeads[s] >= 1 && ((long)EmbedDim << s) % NumHeads[s] == 0),
            $"backbone.num_heads must each divide their stage's width embed_dim * 2^s, got [{string.Join(", ", NumHeads)}] for embed_dim {EmbedDim}");
        Require(WindowSize >= 1, $"backbone.window_size must be >= 1, got {WindowSize}");
        Require(MlpRatio > 0 && double.IsFinite(MlpRatio), $"backbone.mlp_ratio must be > 0, got {MlpRatio}");
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid key.</summary>
    public BackboneConfig Validate()
    {
        Require(NumUnits >= 1, $"backbone.num_units must be >= 1, got {NumUnits}");
        Require(StemChannels >= 1, $"backbone.stem_channels must be >= 1, got {StemChannels}");
        Require(StemKernelSize is >= 1 and <= 11 && StemKernelSize % 2 == 1, $"backbone.stem_kernel_size must be odd in [1, 11], got {StemKernelSize}");
        Require(StemStride is >= 1 and <= 4, $"backbone.stem_stride must be in [1, 4], got {StemStride}");
        Require(InputChannels >= 1, $"backbone.input_channels must be >= 1, got {InputChannels}");
        Require(StageDepths.Count >= 1, "backbone.stage_depths must name at least one stage");
        if (Family == BackboneFamily.Swin)
        {
            Require(StageDepths.All(d => d >= 1), $"backbone.stage_depths must all be >= 1, got [{string.Join(", ", StageDepths)}]");
            ValidateSwin();
            return this;
        }
        Require(StageDepths.Count == StageWidths.Count,
            $"backbone.stage_depths ({StageDepths.Count} stages) and backbone.stage_widths ({StageWidths.Count} stages) must have the same length");
        Require(StageDepths.All(d => d >= 1), $"backbone.stage_depths must all be >= 1, got [{string.Join(", ", StageDepths)}]");
        Require(StageWidths.All(w => w >= 1), $"backbone.stage_widths must all be >= 1, got [{string.Join(", ", StageWidths)}]");
        ActivationCheckpointing.Validate();
        return this;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
