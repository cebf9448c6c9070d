using GppfActors.Tasks.Formats;

namespace GppfActors.Tasks.Synthetic;

/// <summary>A rendered scene: the image and every per-pixel annotation, all from the same coverage values.</summary>
public sealed class RenderedScene
{
    public required RgbImage Image { get; init; }

    /// <summary>0 = background, class index + 1 = object, 255 = ambiguous (partly covered edge pixel).</summary>
    public required LabelMask Semantic { get; init; }

    /// <summary>Shape id owning each pixel, -1 for background and ambiguous pixels.</summary>
    public required int[] Instance { get; init; }

    /// <summary>Metres per pixel, 0 on ambiguous edges (no measurement).</summary>
    public required DepthMap Depth { get; init; }
}
