using System.Text.Json.Serialization;
using GppfActors.Model.Backbone;

namespace GppfActors.ClusterConfig.Jobs;

/// <summary>
/// Where the network's weights start: fresh from the job's seed (no <c>checkpoint</c>, pre-training),
/// or from a pre-trained checkpoint (fine-tuning, paper section 3.3).
/// <list type="bullet">
/// <item><c>mode = dynamic</c>: the job's backbone is the pre-trained dynamic backbone (same preset
/// and units); tasks the checkpoint also has keep their controllers and heads, new tasks start with
/// a uniform controller and a fresh head, and routing learns their paths as in pre-training.</item>
/// <item><c>mode = fixed</c>: a static backbone (<c>backbone.num_units = 1</c>) takes, layer by layer,
/// the units of one path of the pre-trained backbone: <c>path</c> given as unit indices, or
/// <c>path_from</c> naming a task of the checkpoint whose arg-max path is used.</item>
/// </list>
/// <c>freeze_layers = K</c> keeps the first K lego layers (layer 0 is the stem, then the residual
/// blocks in order) at their pre-trained weights: their parameters get no gradient and no update
/// (their BatchNorm still normalises with the step's batch statistics).
/// </summary>
public sealed record InitSection
{
    /// <summary>Fine-tuning from a dynamic backbone, its units and controllers included.</summary>
    public const string DynamicMode = "dynamic";

    /// <summary>Fine-tuning one path of the dynamic backbone as a static network.</summary>
    public const string FixedMode = "fixed";

    /// <summary>A checkpoint directory (<c>step-N</c>) or a run folder (its newest complete checkpoint); empty: a fresh start.</summary>
    public string Checkpoint { get; init; } = "";

    public string Mode { get; init; } = DynamicMode;

    /// <summary>With <c>mode = fixed</c>: a task of the checkpoint whose arg-max path is fine-tuned.</summary>
    public string PathFrom { get; init; } = "";

    /// <summary>With <c>mode = fixed</c>: the unit of each lego layer (instead of <see cref="PathFrom"/>).</summary>
    public IReadOnlyList<int> Path { get; init; } = [];

    /// <summary>The first K lego layers keep their pre-trained weights.</summary>
    public int FreezeLayers { get; init; }

    /// <summary>True when the weights come from a checkpoint.</summary>
    [JsonIgnore]
    public bool FromCheckpoint => !string.IsNullOrWhiteSpace(Checkpoint);

    // Value equality with the path compared element by element (a read-back config equals its original).
    public bool Equals(InitSection? other) =>
        other is not null && Checkpoint == other.Checkpoint && Mode == other.Mode && PathFrom == other.PathFrom
        && Path.SequenceEqual(other.Path) && FreezeLayers == other.FreezeLayers;

    public override int GetHashCode() => HashCode.Combine(Checkpoint, Mode, PathFrom, Path.Count, FreezeLayers);

    public void Validate(BackboneConfig backbone)
    {
        int layers = backbone.NumLayers;
        JobConfig.Check(FreezeLayers >= 0 && FreezeLayers <= layers, "init.freeze_layers",
            $"must be in [0, {layers}] (the backbone has {layers} lego layers, the stem first), got {FreezeLayers}");
        if (!FromCheckpoint)
        {
            JobConfig.Check(PathFrom.Length == 0 && Path.Count == 0 && FreezeLayers == 0, "init.checkpoint",
                "must name a pre-trained checkpoint or run folder when init.path, init.path_from or init.freeze_layers is set");
            return;
        }
        JobConfig.Check(Mode is DynamicMode or FixedMode, "init.mode", $"must be '{DynamicMode}' or '{FixedMode}', got '{Mode}'");
        if (Mode == DynamicMode)
        {
            JobConfig.Check(PathFrom.Length == 0 && Path.Count == 0, "init.path",
                "and init.path_from apply to fixed-path fine-tuning only (init.mode = fixed); dynamic fine-tuning learns its paths");
            return;
        }
        JobConfig.Check(backbone.NumUnits == 1, "backbone.num_units",
            $"must be 1 for fixed-path fine-tuning (init.mode = fixed: one unit per layer, taken along the path), got {backbone.NumUnits}");
        JobConfig.Check((PathFrom.Length > 0) != (Path.Count > 0), "init.path",
            "or init.path_from (not both) must say which path of the pre-trained backbone to fine-tune");
        JobConfig.Check(Path.Count == 0 || (Path.Count == layers && Path.All(k => k >= 0)), "init.path",
            $"must list {layers} unit indices >= 0 (one per lego layer), got [{string.Join(", ", Path)}]");
    }
}
