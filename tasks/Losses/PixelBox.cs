namespace GppfActors.Tasks.Losses;

/// <summary>A half-open pixel rectangle [Y1, Y2) x [X1, X2): the region cutmix pastes.</summary>
public readonly record struct PixelBox(int Y1, int Y2, int X1, int X2)
{
    /// <summary>Pixels covered.</summary>
    public int Area => Math.Max(0, Y2 - Y1) * Math.Max(0, X2 - X1);
}
