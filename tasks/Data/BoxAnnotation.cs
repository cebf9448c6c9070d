namespace GppfActors.Tasks.Data;

/// <summary>An axis-aligned box in pixels as corners (x1, y1, x2, y2), with a contiguous class index.</summary>
public readonly record struct BoxAnnotation(float X1, float Y1, float X2, float Y2, int Label)
{
    public float Width => X2 - X1;

    public float Height => Y2 - Y1;
}
