namespace GppfActors.Tasks.Synthetic;

/// <summary>An RGB colour with channels in [0, 255] as floats, so blending and shading do not round twice.</summary>
public readonly record struct Colour(float R, float G, float B)
{
    /// <summary>Rec. 601 luma, the brightness a grey-scale view of the image would show.</summary>
    public float Luminance => 0.299f * R + 0.587f * G + 0.114f * B;

    public static Colour Lerp(Colour a, Colour b, float t) =>
        new(a.R + (b.R - a.R) * t, a.G + (b.G - a.G) * t, a.B + (b.B - a.B) * t);

    public Colour Scale(float factor) => new(R * factor, G * factor, B * factor);

    /// <summary>
    /// A colour of the given hue and saturation whose luminance is <paramref name="luminance"/>: brightness
    /// bands are set on luminance, not HSV value, because a "bright" pure blue is darker than a dim yellow.
    /// </summary>
    public static Colour FromHue(float hue, float saturation, float luminance)
    {
        var full = Hsv(hue, saturation);
        var l = full.Luminance;
        if (l >= luminance)
        {
            return full.Scale(luminance / l);
        }
        // Too dark even at full value: mix towards white, which raises luminance linearly.
        var t = (luminance - l) / (255f - l);
        return Lerp(full, new Colour(255, 255, 255), t);
    }

    /// <summary>HSV to RGB at full value; hue in [0, 1).</summary>
    private static Colour Hsv(float hue, float saturation)
    {
        var h = (hue - MathF.Floor(hue)) * 6f;
        var sector = (int)h % 6;
        var f = h - MathF.Floor(h);
        float v = 255f, p = v * (1 - saturation), q = v * (1 - saturation * f), t = v * (1 - saturation * (1 - f));
        return sector switch
        {
            0 => new(v, t, p),
            1 => new(q, v, p),
            2 => new(p, v, t),
            3 => new(p, q, v),
            4 => new(t, p, v),
            _ => new(v, p, q),
        };
    }
}
