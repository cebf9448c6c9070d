using GppfActors.Model.Norm;

namespace GppfActors.Model.Backbone;

/// <summary>Which lego layers are checkpointed (<c>backbone.activation_checkpointing</c>).</summary>
public enum CheckpointingMode
{
    /// <summary>Every layer keeps its activations for backward (the default).</summary>
    None,

    /// <summary>Every layer drops its activations after forward and recomputes them in backward.</summary>
    All,

    /// <summary>Layers 0, k, 2k, ... (the stem and every k-th block) are checkpointed.</summary>
    EveryK,
}

/// <summary>
/// Activation checkpointing of the dynamic backbone, per lego layer: a checkpointed layer keeps only
/// its input and its route's tensor after forward and runs its units again in backward, with
/// gradients, running statistics and collectives identical to the plain path (see
/// <see cref="CheckpointedForward"/>). Trades backbone activation memory for recomputation time.
/// </summary>
public sealed record ActivationCheckpointing(CheckpointingMode Mode = CheckpointingMode.None, int Every = 2)
{
    /// <summary>The config key of <see cref="Mode"/>.</summary>
    public const string ModeKey = "backbone.activation_checkpointing";

    /// <summary>The config key of <see cref="Every"/>.</summary>
    public const string EveryKey = "backbone.activation_checkpointing_every";

    /// <summary>No layer is checkpointed.</summary>
    public static ActivationCheckpointing Off { get; } = new();

    /// <summary>Every layer is checkpointed.</summary>
    public static ActivationCheckpointing AllLayers { get; } = new(CheckpointingMode.All);

    /// <summary>Layers 0, k, 2k, ... are checkpointed.</summary>
    public static ActivationCheckpointing EveryKth(int k) => new(CheckpointingMode.EveryK, k);

    /// <summary>
    /// Reads the config values: <paramref name="mode"/> is <c>none</c>, <c>all</c> or <c>every_k</c>
    /// (then <paramref name="every"/> is k); throws naming the key otherwise.
    /// </summary>
    public static ActivationCheckpointing Parse(string mode, int every) => (mode switch
    {
        "none" => Off with { Every = every },
        "all" => AllLayers with { Every = every },
        "every_k" => EveryKth(every),
        _ => throw new ArgumentException($"{ModeKey} must be none, all or every_k, got '{mode}'"),
    }).Validate();

    /// <summary>Whether lego layer <paramref name="layerIndex"/> (0 = stem) is checkpointed.</summary>
    public bool Covers(int layerIndex) => Mode switch
    {
        CheckpointingMode.All => true,
        CheckpointingMode.EveryK => layerIndex % Every == 0,
        _ => false,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the invalid key.</summary>
    public ActivationCheckpointing Validate()
    {
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentException($"{ModeKey} must be none, all or every_k, got {Mode}");
        }
        if (Every < 1)
        {
            throw new ArgumentException($"{EveryKey} must be >= 1 (one lego layer in k is checkpointed), got {Every}");
        }
        return this;
    }

    /// <summary>The config spelling: none, all or every_k (k = ...).</summary>
    public override string ToString() => Mode switch
    {
        CheckpointingMode.All => "all",
        CheckpointingMode.EveryK => $"every_k (k = {Every})",
        _ => "none",
    };

    /// <summary>
    /// Switches checkpointing on for the layers of <paramref name="backbone"/> this setting covers
    /// (any family), off for the others; <paramref name="sync"/> is the replica's norm switch, which
    /// the recomputation replays and records failures in.
    /// </summary>
    public void ApplyTo(RoutedBackbone backbone, NormSync sync)
    {
        for (int i = 0; i < backbone.NumLayers; i++)
        {
            backbone.Layer(i).CheckpointSync = Covers(i) ? sync : null;
        }
    }
}
