using GppfActors.Model.Backbone;
using GppfActors.Tasks.Definitions;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

/// <summary>
/// The location layout of the detection head's packed output for one input size: the levels in
/// order (finest first), each row-major. Shared by the head (strides), the target assignment and
/// the decoder, so all three agree on which row of the output is which location.
/// </summary>
public sealed record FcosLayout(IReadOnlyList<FcosLevel> Levels, InputSize ImageSize)
{
    /// <summary>Total locations over all levels (the packed output's second dimension).</summary>
    public int NumLocations => Levels.Sum(l => l.NumLocations);

    /// <summary>The strides of the levels the head is built on: the last min(num_levels, stages) stages.</summary>
    public static IReadOnlyList<int> LevelStrides(BackboneConfig backbone, DetectionOptions options)
    {
        var strides = BackboneGeometry.StageStrides(backbone);
        int n = Math.Min(options.NumLevels, strides.Count);
        return strides.Skip(strides.Count - n).ToArray();
    }

    /// <summary>
    /// The layout for <paramref name="image"/>: sizes from the backbone geometry; level i takes
    /// objects with largest ltrb distance m in [scale * stride(i-1), scale * stride(i)] (FCOS: 0-64,
    /// 64-128, ... for strides 8, 16, ... and scale 8), the first level from 0, the last unbounded.
    /// </summary>
    public static FcosLayout For(BackboneConfig backbone, DetectionOptions options, InputSize image)
    {
        var strides = LevelStrides(backbone, options);
        var levels = new FcosLevel[strides.Count];
        for (int i = 0; i < strides.Count; i++)
        {
            var size = BackboneGeometry.FeatureSize(image, strides[i]);
            double min = i == 0 ? 0 : options.SizeRangeScale * strides[i - 1];
            double max = i == strides.Count - 1 ? double.PositiveInfinity : options.SizeRangeScale * strides[i];
            levels[i] = new FcosLevel(size.Height, size.Width, strides[i], min, max);
        }
        return new FcosLayout(levels, image);
    }

    /// <summary>
    /// Per location: its (x, y) in input pixels, (j * s + s / 2, i * s + s / 2) with integer halving
    /// as in FCOS, and its level's size range; each [N, 2] float32 on <paramref name="device"/>.
    /// </summary>
    public (Tensor Points, Tensor SizeRanges) Locations(Device device)
    {
        int n = NumLocations;
        var points = new float[n * 2];
        var ranges = new float[n * 2];
        int k = 0;
        foreach (var level in Levels)
        {
            int half = level.Stride / 2;
            for (int i = 0; i < level.Height; i++)
            {
                for (int j = 0; j < level.Width; j++, k++)
                {
                    points[2 * k] = j * level.Stride + half;
                    points[2 * k + 1] = i * level.Stride + half;
                    ranges[2 * k] = (float)level.MinSize;
                    ranges[2 * k + 1] = (float)level.MaxSize;
                }
            }
        }
        return (tensor(points, [n, 2]).to(device), tensor(ranges, [n, 2]).to(device));
    }
}
