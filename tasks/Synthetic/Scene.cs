namespace GppfActors.Tasks.Synthetic;

/// <summary>
/// Everything needed to render one synthetic image and its annotations, drawn once from the image's own
/// random stream; rendering is then a pure function of the scene.
/// </summary>
public sealed record Scene(int Width, int Height, SceneDomain Domain, SceneStyle Style, BackgroundPlane Background, IReadOnlyList<SceneShape> Shapes);

/// <summary>How the domain looks in this image: background colours, texture, light level, palette, noise stream.</summary>
public sealed record SceneStyle(
    Colour BackgroundA,
    Colour BackgroundB,
    float StripeAngle,
    float StripePeriod,
    float Gain,
    float NoiseSigma,
    int PaletteIndex,
    int NoiseSeed,
    float FogStrength);

/// <summary>The background as a tilted plane: depth = Metres + SlopeX * (x/W - 0.5) + SlopeY * (y/H - 0.5).</summary>
public sealed record BackgroundPlane(float Metres, float SlopeX, float SlopeY)
{
    public float DepthAt(float u, float v) => Metres + SlopeX * (u - 0.5f) + SlopeY * (v - 0.5f);
}
