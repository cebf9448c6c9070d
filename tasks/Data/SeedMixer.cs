using GppfActors.Model.Randomness;

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
        var h = SplitMix64.Increment;
        foreach (var part in parts)
        {
            h = SplitMix64.Finalise(h ^ (ulong)part);
            h += SplitMix64.Increment;
        }
        return SplitMix64.Finalise(h);
    }

    /// <summary>
    /// A seeded <see cref="Random"/>. The int-seeded constructor is used on purpose: .NET keeps its
    /// algorithm fixed for compatibility, so streams (and the synthetic data set's bytes) stay stable.
    /// </summary>
    public static Random CreateRandom(params ReadOnlySpan<long> parts) => new((int)(Mix(parts) & int.MaxValue));
}
