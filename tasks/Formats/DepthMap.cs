namespace GppfActors.Tasks.Formats;

/// <summary>A per-pixel depth map in metres, row-major; 0 means no measurement (as in KITTI's sparse ground truth).</summary>
public sealed class DepthMap
{
    public DepthMap(int width, int height, float[] metres)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (metres.Length != width * height)
        {
            throw new ArgumentException($"expected {width * height} depths for {width}x{height}, got {metres.Length}", nameof(metres));
        }
        Width = width;
        Height = height;
        Metres = metres;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Width * Height depths in metres.</summary>
    public float[] Metres { get; }
}
