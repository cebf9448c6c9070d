using GppfActors.Model.Randomness;

namespace GppfActors.Model.Routing;

/// <summary>
/// Counter-based Gumbel(0, 1) noise: the same (seed, step, rank, layer, unit) always gives the same
/// value, on any thread and any machine, so a step can be replayed exactly and no device races on a
/// shared random generator.
/// </summary>
public static class GumbelNoise
{
    /// <summary>Fills <paramref name="destination"/> with the noise of units 0..n-1 of one layer.</summary>
    public static void Sample(ulong seed, long step, int rank, int layer, Span<float> destination)
    {
        for (int unit = 0; unit < destination.Length; unit++)
        {
            ulong h = SplitMix64.Next(seed ^ 0x6A09E667F3BCC909UL);
            h = SplitMix64.Next(h ^ (ulong)step);
            h = SplitMix64.Next(h ^ (uint)rank);
            h = SplitMix64.Next(h ^ (uint)layer);
            h = SplitMix64.Next(h ^ (uint)unit);
            // 53 random bits -> U in (0, 1), never exactly 0 or 1, so both logs are finite.
            double u = ((h >> 11) + 0.5) / (1UL << 53);
            destination[unit] = (float)-Math.Log(-Math.Log(u));
        }
    }
}
