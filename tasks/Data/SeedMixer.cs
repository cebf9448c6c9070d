namespace GppfActors.Tasks.Data;

/// <summary>
/// Turns a tuple such as (seed, step, rank, sample index) into an independent, reproducible random stream,
/// so any sample of any step can be replayed alone, on any worker thread, in any order.
/// </summary>
public static class SeedMixer
{
    /// <summary>A 64-bit hash of the parts: SplitMix64 finalisation after each part, so nearby tuples give unrelated values.</summary>
    public static ulong Mix(params ReadOnlySpan<long> parts)
    {
        var h = 0x9E3779B97F4A7C15UL;
        foreach (var part in parts)
        {
            h = Finalise(h ^ (ulong)part);
            h += 0x9E3779B97F4A7C15UL;
        }
        return Finalise(h);
    }

    /// <summary>
    /// A seeded <see cref="Random"/>. The int-seeded constructor is used on purpose: .NET keeps its
    /// algorithm fixed for compatibility, so streams (and the synthetic data set's bytes) stay stable.
    /// </summary>
    public static Random CreateRandom(params ReadOnlySpan<long> parts) => new((int)(Mix(parts) & int.MaxValue));

    private static ulong Finalise(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
