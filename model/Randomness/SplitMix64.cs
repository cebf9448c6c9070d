namespace GppfActors.Model.Randomness;

/// <summary>
/// The SplitMix64 mixing functions behind every counter-based random draw of the project (Gumbel
/// noise, task draws and data order, augmentation seeds): the same key always gives the same
/// value, on any thread, so steps replay exactly and device threads never share a generator.
/// </summary>
public static class SplitMix64
{
    /// <summary>The golden-ratio increment of the SplitMix64 sequence.</summary>
    public const ulong Increment = 0x9E3779B97F4A7C15UL;

    /// <summary>One SplitMix64 step: add the increment, then <see cref="Finalise"/>.</summary>
    public static ulong Next(ulong z) => Finalise(z + Increment);

    /// <summary>The SplitMix64 finaliser: a bijective mix with good avalanche.</summary>
    public static ulong Finalise(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
