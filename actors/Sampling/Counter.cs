using GppfActors.Model.Randomness;

namespace GppfActors.Actors.Sampling;

/// <summary>Counter-based random numbers: the same key always gives the same value, so draws replay exactly after a resume.</summary>
internal static class Counter
{
    public static ulong Hash(ulong seed, params long[] keys)
    {
        ulong h = SplitMix64.Next(seed ^ 0xD1B54A32D192ED03UL);
        foreach (var k in keys)
        {
            h = SplitMix64.Next(h ^ (ulong)k);
        }
        return h;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public static double Uniform(ulong seed, params long[] keys) => (Hash(seed, keys) >> 11) / (double)(1UL << 53);
}
