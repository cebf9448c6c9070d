namespace GppfActors.Tasks.Metrics;

/// <summary>An axis-aligned box (x1, y1, x2, y2) in input pixels, continuous coordinates: width x2 - x1 (COCO's convention, no +1).</summary>
public readonly record struct Box(double X1, double Y1, double X2, double Y2)
{
    /// <summary>Width times height; 0 for an empty or inverted box.</summary>
    public double Area => Math.Max(0, X2 - X1) * Math.Max(0, Y2 - Y1);

    /// <summary>Intersection over union; 0 when the union is empty.</summary>
    public double Iou(Box other)
    {
        double w = Math.Min(X2, other.X2) - Math.Max(X1, other.X1);
        double h = Math.Min(Y2, other.Y2) - Math.Max(Y1, other.Y1);
        double inter = w > 0 && h > 0 ? w * h : 0;
        double union = Area + other.Area - inter;
        return union > 0 ? inter / union : 0;
    }
}
