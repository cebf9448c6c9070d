namespace GppfActors.Tasks.Data;

/// <summary>
/// The one geometric transform every augmentation reduces to: the source rectangle (in source pixels, may
/// extend past the image, which pads) that is stretched onto the output, then an optional horizontal flip.
/// Image, mask, depth and boxes are all mapped through the same window, so they cannot drift apart.
/// </summary>
public readonly record struct CropWindow(double X, double Y, double Width, double Height, bool Flip)
{
    public static CropWindow Whole(int width, int height) => new(0, 0, width, height, false);
}
