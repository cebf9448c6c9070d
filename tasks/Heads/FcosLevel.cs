namespace GppfActors.Tasks.Heads;

/// <summary>
/// One pyramid level of the detection head for one input size: its map size, stride, and the range
/// of object sizes (largest ltrb distance, in input pixels) it is responsible for.
/// </summary>
/// <param name="Height">Rows of the level's map.</param>
/// <param name="Width">Columns of the level's map.</param>
/// <param name="Stride">Input pixels per map cell.</param>
/// <param name="MinSize">Objects whose largest ltrb distance is at least this ...</param>
/// <param name="MaxSize">... and at most this are assigned to this level.</param>
public sealed record FcosLevel(int Height, int Width, int Stride, double MinSize, double MaxSize)
{
    /// <summary>Locations of this level.</summary>
    public int NumLocations => Height * Width;
}
