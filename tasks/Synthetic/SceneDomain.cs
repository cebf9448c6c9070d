namespace GppfActors.Tasks.Synthetic;

/// <summary>
/// The visual domains images are drawn in. The same shapes in different domains is what makes the data set
/// multi-domain: a model must learn shape, not the look of one background, to do well on all of them.
/// </summary>
public enum SceneDomain
{
    /// <summary>Flat-coloured background.</summary>
    Flat,

    /// <summary>Two-colour stripes at a random angle and period (texture clutter).</summary>
    Stripes,

    /// <summary>Dark, low-contrast images with sensor noise.</summary>
    LowLight,

    /// <summary>Colours remapped through a duotone palette and posterised (a colour-shifted "style").</summary>
    Palette,
}

/// <summary>Domain names as they appear in file names and the manifest.</summary>
public static class SceneDomains
{
    public static readonly IReadOnlyList<SceneDomain> All = Enum.GetValues<SceneDomain>();

    public static string NameOf(SceneDomain domain) => domain switch
    {
        SceneDomain.LowLight => "low_light",
        _ => domain.ToString().ToLowerInvariant(),
    };
}
