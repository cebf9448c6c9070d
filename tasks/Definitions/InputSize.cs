namespace GppfActors.Tasks.Definitions;

/// <summary>A task's network input size in pixels (every image of a batch has this size).</summary>
public readonly record struct InputSize(int Height, int Width)
{
    public override string ToString() => $"{Height}x{Width}";
}
