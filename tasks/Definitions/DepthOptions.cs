namespace GppfActors.Tasks.Definitions;

/// <summary>
/// Depth estimation options; defaults follow BTS on KITTI (depth range up to 80 m, SILog with
/// variance focus 0.85) except the SILog scale, 1 rather than BTS's 10.
/// </summary>
/// <param name="HeadChannels">Channels of the dense decoder.</param>
/// <param name="MaxDepthMetres">
/// Upper end of the depth range: the head predicts exp(x) starting near half of this, loss and metrics count only
/// ground truth below it, and evaluation clamps predictions to it.
/// </param>
/// <param name="MinDepthMetres">Lower end of the depth range: ground truth must lie above it to count; predictions are clamped to at least this before logarithms.</param>
/// <param name="SilogLambda">Variance focus of the scale-invariant log loss.</param>
/// <param name="SilogScale">
/// Factor on the SILog value. BTS uses 10 with its own learning rate; 1 keeps the depth loss on the scale of the other
/// tasks' losses under one shared learning rate.
/// </param>
public sealed record DepthOptions(
    int HeadChannels = 128,
    double MaxDepthMetres = 80,
    double MinDepthMetres = 1e-3,
    double SilogLambda = 0.85,
    double SilogScale = 1)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid key under <paramref name="prefix"/>.</summary>
    public void Validate(string prefix)
    {
        ConfigCheck.AtLeast(HeadChannels, 1, $"{prefix}.head_channels");
        ConfigCheck.Above(MaxDepthMetres, 0, $"{prefix}.max_depth_metres");
        ConfigCheck.Require(MinDepthMetres > 0 && MinDepthMetres < MaxDepthMetres, $"{prefix}.min_depth_metres", $"must be in (0, max_depth_metres = {MaxDepthMetres})", MinDepthMetres);
        ConfigCheck.InRange(SilogLambda, 0, 1, $"{prefix}.silog_lambda");
        ConfigCheck.Above(SilogScale, 0, $"{prefix}.silog_scale");
    }
}
